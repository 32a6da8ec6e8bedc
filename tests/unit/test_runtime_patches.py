"""The event runtime's shortcuts in botocore (devstack/events/clients.py) against botocore's own code."""

from __future__ import annotations

import boto3
import pytest

from devstack.events import clients


class Sent(Exception):
    """Raised from before-send: the request is complete (signed, headers set) and goes nowhere."""


def user_agent_of_a_call(client) -> str:
    seen = []

    def capture(request, **_):
        seen.append(request.headers["User-Agent"])
        raise Sent

    client.meta.events.register("before-send.*", capture)
    with pytest.raises(Sent):
        client.list_queues()
    client.meta.events.unregister("before-send.*", capture)
    return seen[0].decode() if isinstance(seen[0], bytes) else seen[0]


def test_the_user_agent_is_botocore_s_own_and_its_parts_are_sanitised_once(monkeypatch):
    from botocore import useragent

    original = useragent.sanitize_user_agent_string_component
    monkeypatch.setattr(useragent, "sanitize_user_agent_string_component", original)  # restored afterwards
    client = boto3.session.Session().client("sqs", region_name="eu-west-3", endpoint_url="http://127.0.0.1:9",
                                            aws_access_key_id="testing", aws_secret_access_key="testing")
    botocore_says = user_agent_of_a_call(client)
    calls = []
    monkeypatch.setattr(useragent, "sanitize_user_agent_string_component",
                        lambda raw, allow_hash: calls.append(raw) or original(raw, allow_hash))
    clients.cheaper_user_agent()
    clients.cheaper_user_agent()  # twice: one cache, not two
    assert hasattr(useragent.sanitize_user_agent_string_component, "cache_info")
    assert not hasattr(useragent.sanitize_user_agent_string_component.__wrapped__, "cache_info")
    assert user_agent_of_a_call(client) == botocore_says
    first = len(calls)
    assert first > 5
    assert user_agent_of_a_call(client) == botocore_says and len(calls) == first  # nothing sanitised again
    assert useragent.sanitize_user_agent_string_component("a b#c", False) == original("a b#c", False) == "a-b-c"


def test_the_runtime_installs_it_before_loading_the_app():
    from pathlib import Path

    source = (Path(clients.__file__).parent / "engine.py").read_text()
    start = source.index("    def start(")
    assert source.index("clients.cheaper_user_agent()", start) < source.index("load_app(", start)
