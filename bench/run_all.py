"""`make bench`: run every benchmark and write one results table.

Convention for bench scripts (so new ones plug in without touching this file):
- A benchmark is any `bench/*.py` whose name does not start with `_`
  (helpers such as `_rows.py`) and is not this runner. It is run as
  `python bench/<name>.py` from the project root, with the project's venv
  interpreter, and must finish on its own (start and stop whatever it needs,
  on free ports, never 4566/8000).
- It reports each result as one stdout line: `BENCH_ROW ` followed by a JSON
  object; `_rows.emit_row()` prints exactly that. Keys:
    bench            short name of the script, e.g. "cold_start"
    metric           what was measured, e.g. "p95 POST /leads latency"
    value, unit      the number and its unit ("ms", "leads/s", ...)
    goal             the goal as text, e.g. "<= 1.15x floor"
    reference        the floor or peer it is compared against, measured in
                     the same run (text)
    reference_value  that floor's/peer's number in the same unit, or null
    ratio            value / reference_value, or null
    met              true/false when the script judges the goal, else null
  Every other line is free-form and is shown as the script runs.
- A non-zero exit, or no rows, is reported as a failed row: the table never
  hides a benchmark that did not run.
Results go to var/bench/results.md (and are printed).

    python bench/run_all.py [name ...]      # default: every benchmark
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # run as a file: make the project importable

from bench._rows import ROW_PREFIX  # noqa: E402
from infra.project import PROJECT_ROOT  # noqa: E402

RESULTS = PROJECT_ROOT / "var" / "bench" / "results.md"


def discover(names: list[str]) -> list[Path]:
    scripts = sorted(
        p for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_") and p.name != Path(__file__).name
    )
    if names:
        wanted = {n.removesuffix(".py") for n in names}
        scripts = [p for p in scripts if p.stem in wanted]
    return scripts


def run_script(script: Path) -> list[dict[str, Any]]:
    """Run one benchmark, echoing its output, and return its rows."""
    print(f"\n=== {script.name}", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(script)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    rows: list[dict[str, Any]] = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith(ROW_PREFIX):
            rows.append(parse_row(script.stem, line[len(ROW_PREFIX):]))
    code = process.wait()
    print(f"=== {script.name}: exit {code} after {time.monotonic() - started:.1f}s", flush=True)
    if code != 0 or not rows:
        rows.append(failed_row(script.stem, f"exit {code}" if code else "no BENCH_ROW lines"))
    return rows


def parse_row(bench: str, text: str) -> dict[str, Any]:
    try:
        row = json.loads(text)
    except ValueError:
        return failed_row(bench, "unreadable BENCH_ROW line")
    return row if isinstance(row, dict) else failed_row(bench, "BENCH_ROW is not an object")


def failed_row(bench: str, why: str) -> dict[str, Any]:
    return {"bench": bench, "metric": f"FAILED: {why}", "value": None, "unit": "", "goal": "",
            "reference": "", "reference_value": None, "ratio": None, "met": False}


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value).replace("|", "\\|")


def verdict(met: Any) -> str:
    return {True: "met", False: "NOT met"}.get(met, "")


def to_markdown(rows: list[dict[str, Any]]) -> str:
    header = (
        f"# leadflow benchmark results\n\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}; every floor/peer measured in the same run.\n\n"
        "| bench | metric | value | unit | goal | compared with | its value | ratio | verdict |\n"
        "| --- | --- | ---: | --- | --- | --- | ---: | ---: | --- |\n"
    )
    lines = [
        "| " + " | ".join(
            cell(x) for x in (r.get("bench"), r.get("metric"), r.get("value"), r.get("unit"), r.get("goal"),
                              r.get("reference"), r.get("reference_value"), r.get("ratio"))
        ) + f" | {verdict(r.get('met'))} |"
        for r in rows
    ]
    return header + "\n".join(lines) + "\n"


def main() -> int:
    scripts = discover(sys.argv[1:])
    if not scripts:
        print("no benchmarks found", file=sys.stderr)
        return 1
    rows = [row for script in scripts for row in run_script(script)]
    table = to_markdown(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table, encoding="utf-8")
    print(f"\n{table}\nwritten to {RESULTS.relative_to(PROJECT_ROOT)}")
    return 1 if any(r["metric"].startswith("FAILED") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
