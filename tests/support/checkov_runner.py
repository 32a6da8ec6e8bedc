"""checkov's command line, with each JSONPath grammar's parser built once per run.

Run by checkov's own interpreter (its environment, requirements-scan.txt), never imported
by the project's. bc-jsonpath-ng, the JSONPath library checkov's graph uses, builds PLY's
LALR tables anew for every path it parses (bc_jsonpath_ng/parser.py parse_token_stream: "we
regenerate the parse table every time; it doesn't actually take that long!"). For leadflow's
packaged template that is 110 paths at 0.1 s: 11 of checkov's 15 CPU-s. The tables depend on
the grammar alone, and the grammar's actions use no parser state, so ply.yacc.yacc is wrapped
to build each grammar's parser once per thread (its parse keeps state on the parser) and hand
the same one back. Same checks, same findings (tests/deploy/test_scan.py compares a run with
and without it).
"""

from __future__ import annotations

import sys
import threading
import warnings
from typing import Any


def build_each_parser_once() -> dict[tuple[Any, ...], Any]:
    """Wrap ply.yacc.yacc; the parsers it built, by what they were built for."""
    import ply.yacc

    real = ply.yacc.yacc
    built: dict[tuple[Any, ...], Any] = {}

    def yacc(*args: Any, **kwargs: Any) -> Any:
        module = kwargs.get("module")
        if args or module is None:  # not the keyword-only call bc-jsonpath-ng makes
            return real(*args, **kwargs)
        key = (threading.get_ident(), type(module), kwargs.get("start"), kwargs.get("tabmodule"),
               kwargs.get("debug"))
        if key not in built:
            built[key] = real(**kwargs)
        return built[key]

    ply.yacc.yacc = yacc
    return built


def main() -> int:
    build_each_parser_once()
    from checkov.main import Checkov

    with warnings.catch_warnings():  # as checkov's own console script runs it
        warnings.simplefilter("ignore", category=SyntaxWarning)
        sys.argv[0] = "checkov"
        return int(Checkov().run() or 0)


if __name__ == "__main__":
    sys.exit(main())
