"""Admin authentication for the Chalice built-in authorizer.

`Authorization: Bearer <token>`; config holds only sha256(token)
(ADMIN_TOKEN_SHA256), compared in constant time. An empty hash denies all.

Who answers what, on API Gateway and under `chalice local` alike:
- no Authorization header: 401, answered by the gateway itself (a TOKEN
  authorizer is not even invoked without its identity source);
- a header without the right bearer token: the authorizer returns an
  explicit Deny, so 403.
The authorizer never raises: API Gateway turns only an exception whose
message is exactly "Unauthorized" into a 401 (anything else is a 500), and
`chalice local` drops the connection on any exception in an authorizer.

Error bodies: the gateway writes 401/403 bodies, not the app. On AWS the
deploy maps them to the API's error shape with Gateway Responses
(UNAUTHORIZED and ACCESS_DENIED; bodies in api/http.py). `chalice local` hard-codes
API Gateway's default bodies ({"message": "Unauthorized"} and
{"Message": "User is not authorized to access this resource"}) for a
built-in authorizer, so locally the status codes match but the body shape
does not unless the local API maps them the same way.
"""

from __future__ import annotations

import hmac
from typing import Any

from chalicelib.core.digest import digest
from chalicelib.core.settings import get_settings

PRINCIPAL = "admin"

def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_admin_token(token: str | None) -> bool:
    expected = get_settings().admin_token_sha256.strip().lower()
    if not token or not expected:
        return False
    presented = digest(token)
    return hmac.compare_digest(presented, expected)


def deny_policy(method_arn: str) -> dict[str, Any]:
    """An explicit Deny: a 403 on API Gateway and under `chalice local`."""
    return {
        "principalId": "anonymous",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [method_arn]}],
        },
        "context": {},
    }


def authorize(auth_request: Any) -> Any:
    """The built-in authorizer's body: Allow every admin route (cache-safe across routes) or Deny."""
    from chalice.app import AuthResponse

    if is_admin_token(bearer_token(auth_request.token)):
        return AuthResponse(routes=["*"], principal_id=PRINCIPAL)
    return deny_policy(auth_request.method_arn)
