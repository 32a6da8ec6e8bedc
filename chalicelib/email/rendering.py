"""Email rendering from chalicelib/email/templates/<kind>/{subject.txt, body.txt, body.html}.

The Jinja2 environment is built once per container and caches compiled
templates; HTML is autoescaped, text and subject are not (they are not HTML)
and the subject is flattened to one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=False,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def available_kinds() -> frozenset[str]:
    """The template folders; they ship with the code, so one listing per container."""
    return frozenset(p.name for p in TEMPLATES_DIR.iterdir() if (p / "subject.txt").exists())


def one_line(text: str) -> str:
    return " ".join(text.split())


def render(kind: str, context: dict[str, Any]) -> RenderedEmail:
    env = environment()
    return RenderedEmail(
        subject=one_line(env.get_template(f"{kind}/subject.txt").render(context)),
        text=env.get_template(f"{kind}/body.txt").render(context),
        html=env.get_template(f"{kind}/body.html").render(context),
    )
