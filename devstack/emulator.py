"""The local AWS: moto in server mode on loopback.

Run as its own process (`python -m devstack.emulator --port 4566`) so the
app reaches it over HTTP exactly as it reaches AWS.
"""

from __future__ import annotations

import argparse
import logging
import threading
import warnings

from devstack import console, lifeline


def cache_backend_lookup() -> None:
    """moto's server lists its own package directory (a listdir and ~200 stats)
    under a global lock on every request to find the backend; the list never
    changes, so compute it once. Under load this lock was most of the
    emulator's time and serialised every request."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def skip_cloudformation_warnings() -> None:
    """moto warns twice for every resource its CloudFormation does not create (24 lines for
    leadflow's template); the stack says once instead which resources exist only on AWS
    (devstack.provision.aws_only_resources)."""
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    logging.getLogger("moto").addFilter(lambda record: not record.msg.startswith("No Moto CloudFormation support"))


def install_hooks() -> None:
    """Extension point for emulator behaviour moto lacks (SES outbox and feedback,
    stream long-polling for the event runtime)."""
    from devstack import ses_outbox
    from devstack.events import emulator_streams

    ses_outbox.install()
    emulator_streams.install()
    console.quiet_logger("devstack.ses")


# Each long poll (SQS WaitTimeSeconds, the stream long-poll) holds a server
# thread for its wait; the event runtime keeps about a dozen open at once.
SERVER_THREADS = 64


def serve(host: str, port: int) -> None:
    """moto's WSGI app on waitress rather than moto's own werkzeug server:
    werkzeug's development server closes the connection after every response,
    so every AWS call paid a TCP connect and a new thread. Waitress keeps
    connections alive; the pipeline's burst throughput went from 5.0 to 6.5
    leads/s with the emulator the bottleneck either way (bench/pipeline.py)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from waitress import create_server

    cache_backend_lookup()
    skip_cloudformation_warnings()
    from devstack import emulator_dynamodb, emulator_sqs

    emulator_dynamodb.install()
    emulator_sqs.install()
    install_hooks()
    server = create_server(
        DomainDispatcherApplication(create_backend_app), host=host, port=port, threads=SERVER_THREADS, ident="moto"
    )
    # Served from a daemon thread: on a signal the process ends at once,
    # long polls in flight included, as a stopped emulator should.
    stop = lifeline.StopSignal()
    threading.Thread(target=server.run, name="emulator", daemon=True).start()
    stop.wait()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="leadflow local AWS emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    lifeline.watch_parent()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
