"""Cold start of the API function, next to its floor and a peer, in one run.

Each sample is a fresh interpreter that times, from inside, what a Lambda
cold start pays on top of the interpreter itself:
- app:   import `app` (the module Lambda imports) and build the clients the
         API route needs (settings + chalicelib.core.aws.dynamodb());
- floor: import `chalice.app` and `boto3` and create a DynamoDB client, the
         least any Chalice + DynamoDB function can do;
- peer:  the same API built on AWS Lambda Powertools + pydantic validation
         (bench/peer/powertools_handler.py, which builds its client at import).
Samples are interleaved (floor, app, peer, then rotated) so machine noise
hits all three alike. One warm-up each compiles the .pyc files first, into
var/bench/pycache (PYTHONPYCACHEPREFIX), so every module of every subject
loads from bytecode and nothing is written into the source tree. (Lambda
cannot write .pyc files and Chalice ships chalice/app.py, app.py and
chalicelib/ as source, so a real cold start also compiles them: about 28 ms
for chalice/app.py, which any Chalice function pays, and about 9 ms for
leadflow's own modules on this machine. Not measured here.)
Goals: app <= 1.15x floor; app no slower than the peer.

The ratio of medians is the verdict; the paired per-round ratio and the
time leadflow's own modules add are printed next to it, because on a busy
2-core machine the medians of ~300 ms processes wander by 10%.

    python bench/cold_start.py [--runs N] [--no-importtime]   (default 15 runs)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: make the project importable

from bench._rows import emit_row, median
from infra.project import PROJECT_ROOT

PYCACHE = PROJECT_ROOT / "var" / "bench" / "pycache"
FLOOR_GOAL = 1.15

# Each child prints one JSON line: the total and, for the app, its parts
# (marks are cumulative milliseconds since the start).
_TIMED = """
import json, time
t0 = time.perf_counter()
marks = {{}}
{body}
print(json.dumps({{"ms": (time.perf_counter() - t0) * 1000, "marks": marks}}))
"""
_MARK = "marks[{name!r}] = (time.perf_counter() - t0) * 1000"

SUBJECTS = {
    "floor": "import chalice.app\nimport boto3\nboto3.client('dynamodb')",
    # chalice.app and boto3 first (as `import app` would anyway), so the part
    # leadflow's own modules add can be told apart from the noise in the rest.
    "app": "\n".join(
        [
            "import chalice.app",
            "import boto3",
            _MARK.format(name="frameworks"),
            "import app",
            "from chalicelib.core import aws",
            "from chalicelib.core.settings import get_settings",
            "get_settings()",
            _MARK.format(name="leadflow"),
            "aws.dynamodb()",
        ]
    ),
    "peer": "import bench.peer.powertools_handler",
}


def child_env() -> dict[str, str]:
    """The local stage's variables and dummy credentials; no endpoint, no profile."""
    config = json.loads((PROJECT_ROOT / ".chalice" / "config.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(config["stages"]["local"]["environment_variables"])
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PYTHONPYCACHEPREFIX": str(PYCACHE),
        }
    )
    return env


def sample(subject: str, env: dict[str, str]) -> dict[str, Any]:
    code = _TIMED.format(body=SUBJECTS[subject])
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def peer_available(env: dict[str, str]) -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import aws_lambda_powertools, pydantic"], cwd=PROJECT_ROOT, env=env,
        capture_output=True,
    )
    return probe.returncode == 0


def collect(subjects: list[str], runs: int, env: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    for subject in subjects:
        sample(subject, env)  # warm-up: byte-compile, fill the OS page cache
    samples: dict[str, list[dict[str, Any]]] = {s: [] for s in subjects}
    for round_no in range(runs):
        shift = round_no % len(subjects)
        for subject in subjects[shift:] + subjects[:shift]:
            samples[subject].append(sample(subject, env))
    return samples


def totals(samples: list[dict[str, Any]]) -> list[float]:
    return [float(s["ms"]) for s in samples]


def paired_ratio(app: list[dict[str, Any]], floor: list[dict[str, Any]]) -> float:
    """Median of per-round ratios: each pair ran back to back, so slow drifts in
    machine load cancel out (a cross-check on the ratio of medians)."""
    return median([a["ms"] / f["ms"] for a, f in zip(app, floor, strict=True)])


def import_self_times(code: str, env: dict[str, str]) -> dict[str, int]:
    """Module -> self import time in microseconds, from `python -X importtime`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _TIMED.format(body=code)], cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, check=True,
    )
    times: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.split(":", 1)[1].split("|")
        times[name.strip()] = int(self_us)
    return times


def print_extra_imports(env: dict[str, str], top: int = 12) -> None:
    """What the app imports beyond the floor, heaviest first (one noisy sample)."""
    floor = import_self_times(SUBJECTS["floor"], env)
    app = import_self_times(SUBJECTS["app"], env)
    extra = sorted(((us, name) for name, us in app.items() if name not in floor), reverse=True)
    print(f"\nmodules app imports beyond the floor: {len(extra)}, "
          f"self time {sum(us for us, _ in extra) / 1000:.1f} ms; heaviest:")
    for us, name in extra[:top]:
        print(f"  {us / 1000:7.2f} ms  {name}")


def report(samples: dict[str, list[dict[str, Any]]], runs: int) -> None:
    print(f"\ncold start, {runs} fresh interpreters each (ms):")
    for subject, values in samples.items():
        ms = totals(values)
        print(f"  {subject:6} median {median(ms):7.1f}   min {min(ms):7.1f}   max {max(ms):7.1f}")
    app, floor = median(totals(samples["app"])), median(totals(samples["floor"]))
    own = median([s["marks"]["leadflow"] - s["marks"]["frameworks"] for s in samples["app"]])
    ratio = app / floor
    paired = paired_ratio(samples["app"], samples["floor"])
    best = min(totals(samples["app"])) / min(totals(samples["floor"]))
    print(f"  app / floor = {ratio:.3f} (goal <= {FLOOR_GOAL}); paired per round {paired:.3f}; min/min {best:.3f}")
    print(f"  leadflow's own modules (app.py + chalicelib, after chalice and boto3): median {own:.1f} ms "
          f"= {own / floor:.1%} of the floor")
    emit_row(
        "cold_start", f"API cold start: import app + DynamoDB client (median of {runs})", app, "ms",
        f"<= {FLOOR_GOAL}x floor", "floor: import chalice.app + boto3, create DynamoDB client",
        floor, ratio <= FLOOR_GOAL,
    )
    emit_row(
        "cold_start", f"of which leadflow's own modules (median of {runs})", own, "ms",
        f"<= {FLOOR_GOAL - 1:.0%} of floor", "floor (same run)", floor, own / floor <= FLOOR_GOAL - 1,
    )
    if "peer" in samples:
        peer = median(totals(samples["peer"]))
        print(f"  app / peer  = {app / peer:.3f}  (goal <= 1.0; peer: Powertools + pydantic)")
        emit_row(
            "cold_start", f"API cold start vs peer (median of {runs})", app, "ms",
            "<= 1.0x peer", "peer: Powertools REST resolver + pydantic validation, same route",
            peer, app <= peer,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_COLD_START_RUNS", "15")))
    parser.add_argument("--no-importtime", action="store_true", help="skip the import breakdown")
    args = parser.parse_args()
    runs = max(5, args.runs)
    env = child_env()
    subjects = ["floor", "app"] + (["peer"] if peer_available(env) else [])
    if "peer" not in subjects:
        print("peer skipped: aws-lambda-powertools/pydantic not installed (pip install -r requirements-dev.txt)")
    report(collect(subjects, runs, env), runs)
    if not args.no_importtime:
        print_extra_imports(env)


if __name__ == "__main__":
    main()
