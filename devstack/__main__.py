"""`make run`: start the local stack and keep it up until Ctrl-C."""

from __future__ import annotations

import signal
import threading

from devstack.stack import LocalStack, StackConfig


def main() -> None:
    config = StackConfig.from_environment()
    stack = LocalStack(config)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
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
        while not stopping.wait(0.5):
            if any(p.poll() is not None for p in stack.processes):
                print("a stack process exited; stopping", flush=True)
                break
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not abort the clean-up half way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        print("leadflow local stack stopped", flush=True)


if __name__ == "__main__":
    main()
