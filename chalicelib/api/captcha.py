"""CAPTCHA verification, server side, when the stage turns it on (CAPTCHA_PROVIDER).

Cloudflare Turnstile, hCaptcha and Google reCAPTCHA share one wire format:
POST `secret` and `response` (form-encoded) to the provider's siteverify URL,
get `{"success": bool, "error-codes": [...], ...}` back (reCAPTCHA v3 adds a
`score`). The URL is configurable (CAPTCHA_VERIFY_URL; locally the fake
verifier in devstack/captcha.py), the secret comes from the deploy
environment (CAPTCHA_SECRET), and the call has a short timeout.

Three verdicts:
- passed: the lead goes on;
- failed (the provider refused the token): answered like the honeypot,
  stored nowhere, logged with the provider's reason;
- unavailable (no answer, an error status, an unreadable answer, or the
  provider saying our own secret or request is wrong): a 503, nothing stored.
  A configuration mistake must never look like spam and drop real leads.

urllib.request, not a new dependency: one POST with a timeout. Imported
lazily: only stages with a CAPTCHA pay for it.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.logs import get_logger
from chalicelib.core.settings import Settings, get_settings
from chalicelib.core.states import CaptchaProvider, CaptchaVerdict

DEFAULT_VERIFY_URLS = {
    CaptchaProvider.TURNSTILE: "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    CaptchaProvider.HCAPTCHA: "https://api.hcaptcha.com/siteverify",
    CaptchaProvider.RECAPTCHA: "https://www.google.com/recaptcha/api/siteverify",
}
# Longer than any provider's token (Turnstile's are at most 2048 characters).
MAX_TOKEN_CHARS = 4096
MAX_ANSWER_BYTES = 64 * 1024
# Error codes that mean our side is wrong (secret, site key, request), not the sender's token.
_OUR_SIDE = frozenset({
    "missing-input-secret", "invalid-input-secret", "sitekey-secret-mismatch", "bad-request",
    "internal-error", "missing-remoteip", "invalid-remoteip", "not-using-dummy-passcode",
})


def verify_url(settings: Settings) -> str:
    assert settings.captcha_provider is not None
    return settings.captcha_verify_url or DEFAULT_VERIFY_URLS[settings.captcha_provider]


def _post(url: str, form: dict[str, str], timeout: float) -> Any:
    """The provider's JSON answer; OSError (including timeouts and HTTP errors) or ValueError otherwise."""
    import urllib.request
    from urllib.parse import urlencode

    request = urllib.request.Request(
        url, data=urlencode(form).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read(MAX_ANSWER_BYTES))


def judge(answer: Any, min_score: float) -> tuple[CaptchaVerdict, str]:
    """The verdict on a siteverify answer, and the reason for the log."""
    if not isinstance(answer, dict) or not isinstance(answer.get("success"), bool):
        return CaptchaVerdict.UNAVAILABLE, "unreadable answer"
    codes = answer.get("error-codes") or []
    codes = [str(code) for code in codes] if isinstance(codes, list) else [str(codes)]
    if any(code in _OUR_SIDE for code in codes):
        return CaptchaVerdict.UNAVAILABLE, "provider refused our request: " + ",".join(codes)
    if not answer["success"]:
        return CaptchaVerdict.FAILED, ",".join(codes) or "refused"
    score = answer.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool) and score < min_score:
        return CaptchaVerdict.FAILED, f"score {score} below {min_score}"
    return CaptchaVerdict.PASSED, "passed"


def verify(token: str) -> CaptchaVerdict:
    """Ask the stage's provider about one token; log the reason of anything but a pass."""
    settings = get_settings()
    provider = settings.captcha_provider
    if provider is None:
        return CaptchaVerdict.PASSED
    log = get_logger()
    if not settings.captcha_secret:
        log.error("captcha unavailable: CAPTCHA_SECRET is not set for this stage")
        return CaptchaVerdict.UNAVAILABLE
    if len(token) > MAX_TOKEN_CHARS:
        log.info("captcha failed (%s): token too long", provider)
        return CaptchaVerdict.FAILED
    form = {"secret": settings.captcha_secret, "response": token}
    if provider is CaptchaProvider.HCAPTCHA and settings.captcha_site_key:
        form["sitekey"] = settings.captcha_site_key
    try:
        answer = _post(verify_url(settings), form, settings.captcha_timeout_seconds)
    except (OSError, ValueError) as error:
        # HTTPError and timeouts are OSErrors; ValueError: not JSON. The URL is ours, the error says no personal data.
        log.warning("captcha unavailable (%s): %s", provider, type(error).__name__ + _status(error))
        return CaptchaVerdict.UNAVAILABLE
    verdict, reason = judge(answer, settings.captcha_min_score)
    if verdict is CaptchaVerdict.FAILED:
        log.info("captcha failed (%s): %s; nothing stored", provider, reason)
    elif verdict is CaptchaVerdict.UNAVAILABLE:
        log.error("captcha unavailable (%s): %s", provider, reason)
    return verdict


def _status(error: BaseException) -> str:
    code = getattr(error, "code", None)
    return f" {code}" if isinstance(code, int) else ""
