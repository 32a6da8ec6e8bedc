"""axe-core in the browser tests: the copy bundled in the axe-playwright-python package
(requirements-dev.txt), evaluated in the page (not a script tag, which the page's CSP
forbids as it should), so nothing is fetched from elsewhere."""

from __future__ import annotations

from typing import Any

BLOCKING_IMPACTS = ("serious", "critical")


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2 A/AA rules and best practices)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return list(results.response["violations"])


def blocking(found: list[dict[str, Any]]) -> list[str]:
    """The serious and critical violations, one line each (rule, impact, where)."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v.get("impact") in BLOCKING_IMPACTS
    ]
