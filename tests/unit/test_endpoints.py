"""Which emulator process serves which service (devstack/endpoints.py), as tools that know only
the main emulator's address learn it."""

from __future__ import annotations

import uuid


def test_endpoint_routes_are_asked_once_and_forgotten_when_the_emulator_stops(monkeypatch):
    import io
    import json

    from devstack import endpoints

    asked = []

    def urlopen(url, timeout):
        asked.append(url)
        return io.BytesIO(json.dumps({"dynamodb": "http://127.0.0.1:2"}).encode())

    monkeypatch.setattr(endpoints.urllib.request, "urlopen", urlopen)
    main = f"http://127.0.0.1:1/{uuid.uuid4().hex}"
    assert endpoints.service_endpoint("dynamodb", main) == "http://127.0.0.1:2"
    assert endpoints.service_endpoint("sqs", main) == main
    assert endpoints.endpoint_env(main) == {"AWS_ENDPOINT_URL": main, "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:2",
                                            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": main}
    assert endpoints.emulator_endpoints(main) == [main, "http://127.0.0.1:2"]
    assert asked == [main + endpoints.ROUTES_PATH]
    endpoints.forget(main)
    endpoints.routes(main)
    assert len(asked) == 2
    assert endpoints.routes("") == {}  # in-process moto: nothing to ask
