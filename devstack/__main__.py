"""`make run`: start the local stack and keep it up until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import signal
import time
from types import FrameType

from devstack.stack import LocalStack, StackConfig

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(Exception):
    """Raised by the signal handler: Ctrl-C or SIGTERM, at any point of start-up or run."""


def _request_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


def install_stop_handlers() -> None:
    """Handlers of our own, whatever the process inherited: a background job of a
    non-interactive shell, `nohup` and some supervisors start it with SIGINT
    ignored, and Python then leaves Ctrl-C ignored too."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _request_stop)


def main() -> None:
    install_stop_handlers()
    config = StackConfig.from_environment()
    stack = LocalStack(config)
    try:
        stack.start()
        print(
            "\nleadflow local stack is up\n"
            f"  API           {config.api_url}   (POST /leads, GET /health)\n"
            f"  AWS emulator  {config.aws_endpoint}   (moto server)\n"
            f"  outbox        {config.outbox}\n"
            f"  admin token   {config.admin_token}\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while True:
            time.sleep(0.5)
            if any(p.poll() is not None for p in stack.processes):
                print("a stack process exited; stopping", flush=True)
                break
    except StopRequested:
        pass
    finally:
        # A second Ctrl-C must not abort the clean-up half way.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()
        print("leadflow local stack stopped", flush=True)


if __name__ == "__main__":
    main()
