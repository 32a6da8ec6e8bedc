"""Property-based fuzzing of the header writer: whatever text reaches a subject, a display
name, the reference or the bodies, the email has exactly the headers and recipients meant."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.email.mime import build_message, header_safe
from tests.support.fuzz import strategies
from tests.support.fuzz.profile import fuzz_settings
from tests.support.mail_headers import HOSTILE_VALUES, assert_headers_exactly

header_text = st.one_of(
    strategies.edge_text,
    strategies.any_text,
    st.lists(st.sampled_from(strategies.EDGE_CHARACTERS + HOSTILE_VALUES), max_size=6).map("".join),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300),
).map(lambda text: text.encode("utf-8", "replace").decode("utf-8", "replace"))


@fuzz_settings(0.10)
@given(subject=header_text, name=header_text, reference=header_text, body=header_text)
def test_no_text_changes_the_header_set(subject, name, reference, body):
    raw = build_message("leadflow alerts <alerts@leadflow.example>", "team@leadflow.example", subject, body, body,
                        reply_to=("ada@example.com", name), reference=reference or None)
    meant = {"From", "To", "Reply-To", "Subject"} | ({"X-Leadflow-Ref"} if reference else set())
    message = assert_headers_exactly(raw, meant, "team@leadflow.example", reply_to="ada@example.com",
                                     sender="alerts@leadflow.example")
    assert str(message["Subject"]) == header_safe(subject)
