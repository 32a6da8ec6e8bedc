"""Templates of requests from other systems render with only the fields they were given."""

from __future__ import annotations

from chalicelib.email.rendering import render


def test_an_order_confirmation_without_items_renders():
    # `data["items"]` in Jinja falls back to dict.items when the key is absent, which is not iterable.
    email = render("order_confirmation", {"data": {"order_id": "A-1", "customer_name": "Bea"}})
    assert "Your order A-1 is confirmed." in email.text
    assert "<li>" not in email.html


def test_an_order_confirmations_items_are_listed():
    email = render("order_confirmation", {"data": {"order_id": "A-2", "items": ["lamp", "<b>desk</b>"]}})
    assert "  - lamp" in email.text
    assert "<li>&lt;b&gt;desk&lt;/b&gt;</li>" in email.html
