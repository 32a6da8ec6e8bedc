"""A small client of the mail viewer's JSON API (README: "The mail viewer"), for tests and scripts."""

from __future__ import annotations

import email
import email.policy
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    data: bytes
    headers: dict[str, str]

    @property
    def body(self) -> Any:
        """JSON answers decoded; anything else as text."""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(self.data or b"null")
        return self.data.decode("utf-8", "replace")


@dataclass(frozen=True)
class MailViewer:
    url: str

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             http_timeout: float = 60, **params: Any) -> Answer:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json"} if data is not None else {}
        request = urllib.request.Request(f"{self.url}{path}{'?' + query if query else ''}", data=data, method=method,
                                         headers={**sent, **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=http_timeout) as response:
                return Answer(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read(), dict(error.headers))

    def messages(self, **filters: Any) -> list[dict[str, Any]]:
        answer = self.call("GET", "/api/messages", **filters)
        assert answer.status == 200, answer
        return list(answer.body["messages"])

    def message(self, message_id: str) -> dict[str, Any]:
        answer = self.call("GET", f"/api/messages/{message_id}")
        assert answer.status == 200, answer
        return dict(answer.body)

    def raw(self, message_id: str) -> bytes:
        answer = self.call("GET", f"/api/messages/{message_id}/raw")
        assert answer.status == 200, answer
        return answer.data

    def parsed(self, message_id: str) -> EmailMessage:
        return email.message_from_bytes(self.raw(message_id), policy=email.policy.default)  # type: ignore[return-value]

    def wait(self, count: int = 1, timeout: float = 15, **filters: Any) -> list[dict[str, Any]]:
        """The matching messages once there are `count`; fails the test on the viewer's timeout."""
        answer = self.call("GET", "/api/wait", count=count, timeout=timeout, http_timeout=timeout + 30, **filters)
        assert answer.status == 200, f"{answer.status}: {answer.body}"
        return list(answer.body["messages"])

    def feedback(self, message_id: str, kind: str, bounce_type: str | None = None) -> Answer:
        body = {"type": kind, **({"bounce_type": bounce_type} if bounce_type else {})}
        return self.call("POST", f"/api/messages/{message_id}/feedback", body)

