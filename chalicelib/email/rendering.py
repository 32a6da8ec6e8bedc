"""Email rendering from chalicelib/email/templates/<kind>/{subject.txt, body.txt, body.html}.

The Jinja2 environment is built once per container and caches compiled
templates; HTML is autoescaped, text and subject are not (they are not HTML)
and the subject is flattened to one line.

Data is looked up as data, never as Python attributes: Jinja2's own lookup
falls back from `data["items"]` to `data.items` (and back), so a template
reading an optional field the request left out got the dict's `items`
method and failed. Here a mapping answers only with its keys; anything
missing is undefined (empty and false), as a template expects of an
optional field, and so is anything inside an optional object left out.
The schema next to each template (email/schemas.py) says
which fields a kind needs, and requests are checked against it at the door.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.core.caching import locked_cache

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# What makes a folder of templates/ an email kind (the chat message has no subject).
EMAIL_PARTS = ("subject.txt", "body.txt", "body.html")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _data_environment_class() -> Any:
    from jinja2 import Environment

    class DataEnvironment(Environment):
        """An environment where `x.name` and `x["name"]` both mean the key of a mapping."""

        def getitem(self, obj: Any, argument: Any) -> Any:
            if isinstance(obj, Mapping):
                return obj[argument] if argument in obj else self.undefined(obj=obj, name=argument)
            return super().getitem(obj, argument)

        def getattr(self, obj: Any, attribute: str) -> Any:
            if isinstance(obj, Mapping):
                return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
            return super().getattr(obj, attribute)

    return DataEnvironment


@locked_cache
def environment() -> Any:
    from jinja2 import ChainableUndefined, FileSystemLoader, select_autoescape

    return _data_environment_class()(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        # An optional object left out is undefined all the way down (`enrichment.history.count`).
        undefined=ChainableUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=False,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def available_kinds() -> frozenset[str]:
    """The email template folders; they ship with the code, so one listing per container."""
    return frozenset(
        p.name for p in TEMPLATES_DIR.iterdir() if all((p / part).exists() for part in EMAIL_PARTS)
    )


def one_line(text: str) -> str:
    return " ".join(text.split())


_DOT = r"[.\u3002\uff0e\uff61]"  # and the ideographic and fullwidth dots IDNs accept
# Anything a mail reader could turn into a link: URLs with a scheme, www.,
# addresses and bare domains (label.tld). Broad on purpose: at worst a
# greeting loses a word.
_LINK_RE = re.compile(
    r"[a-z][a-z0-9+.-]{1,15}://\S*"
    r"|(?:mailto|javascript|data|tel|sms|callto|file):\S*"
    r"|\S*@\S*"
    r"|\S*(?:[^\W_]|-)" + _DOT + r"(?:xn--[a-z0-9-]+|[^\W\d_]{2,63})\b\S*",
    re.IGNORECASE,
)


def without_links(text: str) -> str:
    """The text with every link-like word removed (what a confirmation may echo of a name)."""
    return one_line(_LINK_RE.sub(" ", text))


def render(kind: str, context: dict[str, Any]) -> RenderedEmail:
    env = environment()
    return RenderedEmail(
        subject=one_line(env.get_template(f"{kind}/subject.txt").render(context)),
        text=env.get_template(f"{kind}/body.txt").render(context),
        html=env.get_template(f"{kind}/body.html").render(context),
    )


def render_text(template: str, context: dict[str, Any]) -> str:
    """One plain-text template of templates/ (the team's chat message)."""
    return str(environment().get_template(template).render(context))
