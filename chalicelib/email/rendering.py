"""Email rendering from chalicelib/email/templates/<kind>/{subject.txt, body.txt, body.html}.

The Jinja2 environment is built once per container and caches compiled
templates; HTML is autoescaped, text and subject are not (they are not HTML)
and the subject is flattened to one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
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


@cache
def subject_fields(kind: str) -> frozenset[str] | None:
    """The `data` keys the kind's subject template reads (`data.x`, `data["x"]`);
    None when it uses `data` in any other way, so that every value may reach it."""
    from jinja2 import nodes

    env = environment()
    source, _, _ = env.loader.get_source(env, f"{kind}/subject.txt")
    fields: set[str] = set()
    whole = False

    def visit(node: nodes.Node) -> None:
        nonlocal whole
        inner = getattr(node, "node", None)
        if isinstance(inner, nodes.Name) and inner.name == "data":
            if isinstance(node, nodes.Getattr):
                fields.add(node.attr)
                return
            if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                fields.add(str(node.arg.value))
                return
        if isinstance(node, nodes.Name) and node.name == "data":
            whole = True
        for child in node.iter_child_nodes():
            visit(child)

    visit(env.parse(source))
    return None if whole else frozenset(fields)


def render(kind: str, context: dict[str, Any]) -> RenderedEmail:
    env = environment()
    return RenderedEmail(
        subject=one_line(env.get_template(f"{kind}/subject.txt").render(context)),
        text=env.get_template(f"{kind}/body.txt").render(context),
        html=env.get_template(f"{kind}/body.html").render(context),
    )
