"""Every template kind renders with only its required data and with all of it, and each kind's
data is checked against its schema (templates/<kind>/schema.json) before anything is sent."""

from __future__ import annotations

import pytest
from jinja2 import Environment

from chalicelib.email import rendering, schemas
from chalicelib.pipeline import requests
from tests.support.templates import context_for, data_for, line_values, subject_fields

KINDS = sorted(schemas.kinds())


def rendered(kind: str, context: dict) -> str:
    if kind in rendering.available_kinds():
        email = rendering.render(kind, context)
        return "\n".join((email.subject, email.text, email.html))
    return rendering.render_text(f"{kind}/message.txt", context)


def test_every_template_folder_has_a_schema():
    folders = {p.name for p in rendering.TEMPLATES_DIR.iterdir() if p.is_dir()}
    assert folders == set(KINDS)
    assert rendering.available_kinds() <= set(KINDS)


@pytest.mark.parametrize("full", [False, True], ids=["required-only", "all-optional"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_template_renders_with_minimal_and_full_data(kind, full):
    context = context_for(kind, full)
    output = rendered(kind, context)
    for leak in ("built-in", "<bound method", "Undefined", "None"):
        assert leak not in output, (kind, leak)
    required = line_values(data_for(kind, full=False))
    shown = line_values(context) if kind == "order_confirmation" and full else required
    for value in shown:
        assert value in output, (kind, value)


def test_the_readme_order_confirmation_without_items_renders():
    """The bug: Jinja2's own lookup turned a missing `items` into the dict's items method."""
    data = {"order_id": "A-100", "customer_name": "Bea"}
    email = rendering.render("order_confirmation", {"data": data})
    assert "A-100" in email.subject and "Bea" in email.text
    # What a stock environment does with the same template and data (the bug this guards):
    stock = Environment(loader=rendering.environment().loader)
    with pytest.raises(TypeError, match="not iterable"):
        stock.get_template("order_confirmation/body.txt").render({"data": data})


def test_a_mapping_answers_only_with_its_keys():
    env = rendering.environment()
    template = env.from_string("{{ d.items }}|{{ d['keys'] }}|{{ d.get }}|{{ d.x | default('none') }}")
    assert template.render(d={"items": "I"}) == "I|||none"


@pytest.mark.parametrize("kind", [k for k in KINDS if schemas.requestable(k)])
def test_full_example_data_fits_the_schema(kind):
    assert schemas.validate(kind, data_for(kind, full=True)) == []
    assert schemas.validate(kind, data_for(kind, full=False)) == []


def test_the_schema_lists_every_problem():
    problems = dict(schemas.validate("order_confirmation", {
        "customer_name": "Bea\r\nBcc: x@example.com",
        "items": ["ok", 7, "=?utf-8?b?DQpCY2M6?="],
        "total": 4,
        "note": "x" * 2001,
        "surprise": True,
    }))
    assert problems == {
        "data.order_id": "is required",
        "data.customer_name": "must be one line without control characters or '=?'",
        "data.items[1]": "must be a string",
        "data.items[2]": "must be one line without control characters or '=?'",
        "data.total": "must be a string",
        "data.note": "must have 1-2000 characters",
        "data.surprise": "is not a field of this kind",
    }


def test_lead_only_kinds_cannot_be_requested_and_unknown_kinds_are_named():
    for kind in ("team_alert", "customer_confirmation", "team_chat", "no_such_kind", "../team_alert"):
        _, problems = requests.check({"kind": kind, "recipient": "a@example.com"})
        assert ("kind", "is not a kind of notification other systems may send") in problems, kind


@pytest.mark.parametrize("kind", sorted(rendering.available_kinds()))
def test_what_a_subject_shows_is_single_line_in_the_schema(kind):
    """A subject is a mail header: every data field it reads must be a `line` (no control
    characters, no `=?`) or a number in the kind's schema, so the door refuses what could
    open an encoded word there (the header writer encodes it anyway)."""
    fields = subject_fields(kind)
    assert fields is not None, f"{kind}/subject.txt uses `data` as a whole: name its fields"
    spec = schemas.schema(kind) or {}
    declared = {**spec.get("required", {}), **spec.get("optional", {})}
    for name in fields:
        assert declared.get(name, {}).get("type") in ("line", "integer", "number"), (kind, name)
