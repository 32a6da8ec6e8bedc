"""The SMTP relay to a developer's mail catcher (devstack/smtp_relay.py), against a real local SMTP server."""

from __future__ import annotations

import logging
import socket

import pytest

from devstack.smtp_relay import SmtpRelay, parse_target
from devstack.stack import free_port
from tests.support.smtp import smtp_server

RAW = b"From: alerts@leadflow.example\nTo: team@leadflow.example\nSubject: A lead\n\nHello\n"


def test_a_forwarded_message_arrives_with_the_ses_envelope():
    with smtp_server() as (port, catcher):
        relay = SmtpRelay("127.0.0.1", port)
        relay.forward(RAW, "alerts@leadflow.example", ["Team <team@leadflow.example>", "hidden@example.com"])
        [received] = catcher.wait_for(1)
    assert received.sender == "alerts@leadflow.example"
    assert received.recipients == ["team@leadflow.example", "hidden@example.com"]  # Bcc too, as SES delivers it
    assert b"Subject: A lead\r\n" in received.data and b"Hello" in received.data


def test_a_silent_server_never_holds_up_forward(caplog):
    """A server that takes the connection and never greets: forward() still returns at once."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        relay = SmtpRelay("127.0.0.1", silent.getsockname()[1], timeout=60)
        caplog.set_level(logging.WARNING, logger="devstack.ses.relay")
        for _ in range(3):
            relay.forward(RAW, "alerts@leadflow.example", ["team@leadflow.example"])
        assert relay.pending() == 3  # all three returned while the first still waits for a greeting
    relay.join()  # closing the server ends the wait
    assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 1, caplog.text


def test_a_failing_relay_is_logged_once_until_it_works_again(caplog):
    port = free_port()  # nothing listens there yet
    relay = SmtpRelay("127.0.0.1", port)
    caplog.set_level(logging.WARNING, logger="devstack.ses.relay")
    for _ in range(3):
        relay.forward(RAW, "alerts@leadflow.example", ["team@leadflow.example"])
    relay.join()
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1, caplog.text

    with smtp_server(port) as (_, catcher):
        relay.forward(RAW, "alerts@leadflow.example", ["team@leadflow.example"])
        assert len(catcher.wait_for(1)) == 1
    relay.join()
    assert any("works again" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:1025", ("127.0.0.1", 1025)),
    ("localhost:2525", ("localhost", 2525)),
    ("[::1]:1025", ("::1", 1025)),
])
def test_targets_parse(value, expected):
    assert parse_target(value) == expected


@pytest.mark.parametrize("value", ["127.0.0.1", "host:", ":25", "host:99999", "a:b:c"])
def test_bad_targets_are_refused(value):
    with pytest.raises(ValueError):
        parse_target(value)
