"""The README's examples, as the tests run them (what a user copies is what is tested)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from infra.project import PROJECT_ROOT

SENDERS_SECTION = "## Send your own email through leadflow"


def section(title: str = SENDERS_SECTION) -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start:] if end < 0 else text[start:end]


def blocks(language: str, title: str = SENDERS_SECTION) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(title), flags=re.S)


def verify_recipe() -> Callable[..., bool]:
    """The signature check the README shows a receiver, executed as written."""
    (code,) = [block for block in blocks("python") if "def verify" in block]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["verify"]  # type: ignore[no-any-return]


def curl_commands(title: str = SENDERS_SECTION) -> list[str]:
    return [block.strip() for block in blocks("sh", title) if block.lstrip().startswith("curl")]
