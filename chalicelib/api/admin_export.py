"""GET /leads?format=csv (and /leads.csv): the leads of a time range as CSV.

Built page by page through the listing's cursor (an index query per page,
never a scan). One answer holds at most MAX_EXPORT_ROWS leads, since API
Gateway and Lambda cap a response's size; when there are more, the answer's
`X-Next-Cursor` header (and a `Link: <...>; rel="next"`) names the cursor of
the rest, which the dashboard follows to build one file.

Cells a spreadsheet would read as a formula (starting with = + - @, a tab or
a carriage return) are neutralised with a leading apostrophe, as OWASP's CSV
injection guidance recommends; the csv module quotes the rest.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from chalice.app import Response

from chalicelib.api.admin import LEAD_VIEW_FIELDS, ListQuery, page_of_leads

PAGE_SIZE = 100
MAX_EXPORT_ROWS = 5000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = LEAD_VIEW_FIELDS


def neutralise(value: str) -> str:
    """A cell that no spreadsheet evaluates (OWASP: prefix a quote to a formula-like cell)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return neutralise(text)


def rows(query: ListQuery) -> Iterator[dict[str, Any] | str | None]:
    """The leads, page by page; finally the cursor of the rest (None when all were read)."""
    read = 0
    while True:
        items, next_cursor = page_of_leads(query)
        yield from items
        read += len(items)
        if next_cursor is None or read >= MAX_EXPORT_ROWS:
            yield next_cursor
            return
        query.cursor = next_cursor


def leads_csv(params: Mapping[str, str]) -> Response:
    query = ListQuery({**params, "limit": str(PAGE_SIZE)}, default_limit=PAGE_SIZE)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if not params.get("cursor"):
        writer.writerow(COLUMNS)
    rest: str | None = None
    for row in rows(query):
        if isinstance(row, dict):
            writer.writerow([cell(row, name) for name in COLUMNS])
        else:
            rest = row
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="leads.csv"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if rest:
        following = {k: v for k, v in params.items() if k not in ("cursor", "limit")}
        headers["X-Next-Cursor"] = rest
        headers["Link"] = "<leads?" + urlencode({**following, "format": "csv", "cursor": rest}) + '>; rel="next"'
    return Response(body=buffer.getvalue(), status_code=200, headers=headers)
