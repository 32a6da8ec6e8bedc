"""`python -m devstack.mailviewer --port 8025`: the local mail viewer, as `make run` starts it."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import threading
from pathlib import Path

from devstack import lifeline
from devstack.mailviewer.messages import parse_time
from infra.project import PROJECT_ROOT


def loopback_address(host: str) -> str:
    """The IPv4 loopback address to bind; anything else is refused (the viewer must not be reachable
    from another machine: it shows every email and can clear the outbox)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{host!r} is not an IP address") from None
    if address.version != 4 or not address.is_loopback:
        raise argparse.ArgumentTypeError(f"{host} is not an IPv4 loopback address; the viewer binds loopback only")
    return host


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.mailviewer", description=__doc__.splitlines()[0])
    parser.add_argument("--host", type=loopback_address, default="127.0.0.1", help="a loopback address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--outbox", type=Path, default=PROJECT_ROOT / "var" / "outbox")
    parser.add_argument("--stage", default="local", help="the app's stage, for its ledger and feedback topic")
    parser.add_argument("--api-url", default="", help="the local API, to link a lead to the dashboard")
    parser.add_argument("--stack-started", type=parse_time, help="mail filed before this time is from an earlier run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    lifeline.watch_parent()
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s mailviewer %(levelname)s %(message)s")
    from devstack.mailviewer.ledger import configure_app_environment
    from devstack.mailviewer.server import make_server

    configure_app_environment(args.stage)
    server = make_server(args.host, args.port, args.outbox, args.stage, args.api_url, args.stack_started)
    stop = lifeline.StopSignal()
    # A short poll interval: shutdown() waits for the loop to notice (0.5 s by default).
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="mailviewer", daemon=True).start()
    stop.wait()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
