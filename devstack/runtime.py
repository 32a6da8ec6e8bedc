"""The local event runtime: `python -m devstack.runtime --stage local`.

Runs a Chalice app's @app.on_dynamodb_record, @app.on_sqs_message and
@app.on_sns_message handlers against the local emulator with the semantics
of Lambda's event source mappings and SNS subscriptions (see
devstack/events/). `make run` starts it next to `chalice local`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from devstack import console, lifeline, profiling, stage_env
from devstack.events.engine import EventRuntime, RuntimeOptions
from infra.project import PROJECT_ROOT


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a Chalice app's event handlers locally, as Lambda would")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_ROOT, help="the Chalice project (app.py)")
    parser.add_argument("--settings", type=Path, help="event-source settings (default .chalice/event-sources.json)")
    parser.add_argument("--state-dir", type=Path, help="where stream checkpoints live (default var/runtime)")
    parser.add_argument("--ready-file", type=Path, help="touched once every handler is subscribed and polling")
    parser.add_argument(
        "--async-retry-delay", type=float, default=1.0,
        help="first SNS retry delay in seconds (Lambda waits 1 min, then 2; locally 1 s, then 2 s)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> RuntimeOptions:
    project_dir = args.project_dir.resolve()
    return RuntimeOptions(
        project_dir=project_dir,
        stage=args.stage,
        settings_path=args.settings or project_dir / ".chalice" / "event-sources.json",
        state_dir=args.state_dir or project_dir / "var" / "runtime",
        async_retry_delay_seconds=args.async_retry_delay,
    )


def install_faults() -> None:
    """LEADFLOW_FAULTS (see devstack/faults.py) turns on fault injection for a soak run."""
    if not os.environ.get("LEADFLOW_FAULTS", "").strip():
        return
    from devstack import faults

    faults.install_from_environment()
    logging.getLogger("devstack.runtime").warning("fault injection on: %s", os.environ["LEADFLOW_FAULTS"])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lifeline.watch_parent()
    stage_env.keep_stack_environment()
    if not os.environ.get("AWS_ENDPOINT_URL"):
        # It creates queues and subscriptions: never let it loose on a real account.
        sys.exit("AWS_ENDPOINT_URL is not set: the local event runtime only runs against the emulator")
    logging.basicConfig(
        stream=sys.stdout, level=args.log_level.upper(), format="%(asctime)s runtime %(levelname)s %(message)s"
    )
    # Per-request lines from the AWS SDK would drown the invocation log.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    console.quiet_logger("devstack.runtime")
    console.quiet_app_output()
    profiling.start()
    runtime = EventRuntime(options_from(args))
    stop = lifeline.StopSignal(also=(lifeline.STACK_STOPPING,))
    runtime.start(prepare=install_faults)
    if args.ready_file:
        args.ready_file.parent.mkdir(parents=True, exist_ok=True)
        args.ready_file.write_text("ready\n", encoding="utf-8")
    stop.wait()
    runtime.stop(wait_for_receives=stop.received != lifeline.STACK_STOPPING)
    profiling.dump("runtime")
    logging.getLogger("devstack.runtime").info("event runtime stopped")


if __name__ == "__main__":
    main()
