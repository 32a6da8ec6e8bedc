"""The local AWS: moto in server mode on loopback.

Run as its own process (`python -m devstack.emulator --port 4566`) so the
app reaches it over HTTP exactly as it reaches AWS.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import string
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from devstack import console, endpoints, lifeline, profiling


def cache_backend_lookup() -> None:
    """moto's server lists its own package directory (a listdir and ~200 stats)
    under a global lock on every request to find the backend; the list never
    changes, so compute it once. Under load this lock was most of the
    emulator's time and serialised every request."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def listed_once(list_methods: Callable[[Any], list[str]]) -> Callable[[Any], list[str]]:
    """moto's method_names_from_class (moto/core/utils.py), remembered per class: BaseResponse.call_action
    (moto/core/responses.py) lists its handler's methods with inspect.getmembers, ~100 names and
    a dir() of the class, on every request to decide whether it has a method for the action.
    Keyed by the size of each class's namespace along the MRO too, so a method added later
    (devstack's hooks add some at install) is listed."""
    listed: dict[tuple[Any, ...], list[str]] = {}

    def key_of(clazz: Any) -> tuple[Any, ...]:
        return (clazz, *(len(vars(base)) for base in clazz.__mro__))

    @functools.wraps(list_methods)
    def names(clazz: Any) -> list[str]:
        found = listed.get(key_of(clazz))
        if found is None:
            found = list_methods(clazz)
            listed[key_of(clazz)] = found  # after listing: listing itself may add to a namespace
        return list(found)

    names._devstack = True  # type: ignore[attr-defined]
    return names


def share_botocore_data() -> None:
    """Every botocore session of this process reads botocore's data through one loader.
    moto builds a boto3 Session to list a service's regions for each backend it loads
    (BackendDict, moto/core/base_backend.py; ec2's RegionsAndZonesBackend, at import), and
    each new session gets a loader of its own (botocore/session.py, _register_data_loader)
    that reads and decodes endpoints.json and the partitions again: about 120 decodes and
    half the emulator's start-up. The loader only reads files and caches what it read.
    Called before moto is imported."""
    import botocore.loaders
    import botocore.session

    module: Any = botocore.session
    if getattr(module.create_loader, "_devstack", False):
        return
    shared = functools.cache(botocore.loaders.create_loader)
    shared._devstack = True  # type: ignore[attr-defined]
    setattr(module, "create_loader", shared)  # noqa: B010 - its `from botocore.loaders import`


def cache_method_names() -> None:
    from moto.core import responses

    module: Any = responses
    if not getattr(module.method_names_from_class, "_devstack", False):
        setattr(module, "method_names_from_class", listed_once(module.method_names_from_class))  # noqa: B010


def random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
    """MotoRandom.get_random_string (moto/moto_api/_internal/moto_random.py) drawing the whole string
    with one `choices` call instead of one `choice` call per character: every response's
    52-character x-amzn-requestid and every message id is one. Same pool, length and case, from
    moto's own (seedable) generator."""
    pool = string.ascii_letters + (string.digits if include_digits else "")
    drawn = "".join(self.choices(pool, k=length))
    return drawn.lower() if lower_case else drawn


def receipt_handle() -> str:
    """moto/sqs/utils.py generate_receipt_handle (185 lowercase letters, one `choice` call each), with one call."""
    from moto.moto_api._internal import mock_random

    return "".join(mock_random.choices(string.ascii_lowercase, k=RECEIPT_HANDLE_LENGTH))


RECEIPT_HANDLE_LENGTH = 185


def cheaper_random_strings() -> None:
    from moto.moto_api._internal.moto_random import MotoRandom
    from moto.sqs import models as sqs_models

    MotoRandom.get_random_string = random_string  # type: ignore[method-assign]
    setattr(sqs_models, "generate_receipt_handle", receipt_handle)  # noqa: B010 - its `from .utils import`


def skip_cloudformation_warnings() -> None:
    """moto warns twice for every resource its CloudFormation does not create (24 lines for
    leadflow's template); the stack says once instead which resources exist only on AWS
    (devstack.provision.aws_only_resources)."""
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    logging.getLogger("moto").addFilter(lambda record: not record.msg.startswith("No Moto CloudFormation support"))


def cloudformation_when_asked(create_app: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's backend-app factory, patching moto's CloudFormation (devstack/emulator_cloudformation.py)
    when its app is made: at the first CloudFormation request, which a stack start never sends.
    Importing moto.cloudformation costs 1.5 CPU-s (it imports every backend it can create)."""

    def backend_app(service: Any) -> Any:  # moto types it as a Literal of its service names
        if service == "cloudformation":
            from devstack import emulator_cloudformation

            emulator_cloudformation.install()
        return create_app(service)

    return backend_app


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


def with_routes(app: Callable[..., Iterable[bytes]], routes: dict[str, str]) -> Callable[..., Iterable[bytes]]:
    """`app`, answering devstack.endpoints.ROUTES_PATH itself: which services live in another process."""
    body = json.dumps(routes).encode()

    def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == endpoints.ROUTES_PATH:
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return routed


# X-Amz-Target prefixes of the JSON-protocol services answered without Flask, and the
# service their requests are signed for: DynamoDB, its streams (signed as dynamodb), SQS.
DIRECT_TARGETS = {"DynamoDB_20120810": "dynamodb", "DynamoDBStreams_20120810": "dynamodb", "AmazonSQS": "sqs"}


def signing_service(environ: dict[str, Any]) -> str:
    """The service a request's SigV4 credential scope names: how moto's dispatcher
    (DomainDispatcherApplication.infer_service_region_host) picks the backend of a request to
    a local address ("" when unsigned or unreadable)."""
    try:
        scope = str(environ.get("HTTP_AUTHORIZATION", "")).split(",")[0].split()[1]
        return scope.split("/")[3].lower()
    except IndexError:
        return ""


def direct_json_targets(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """`app`, with DynamoDB's, DynamoDB Streams' and SQS's requests handed straight to moto's handler.

    moto's server (moto/moto_server/werkzeug_app.py) finds each request's backend from its
    host, path and headers, then runs it through a Flask app per service: URL-rule matching,
    a request context, Flask-CORS and Flask's response processing, all to reach
    DynamoHandler.dispatch (or DynamoDBStreamsHandler's, SQSResponse's) for "POST /" with an
    X-Amz-Target header (the JSON protocol has one route). Here those requests take what
    convert_to_flask_response (moto/core/utils.py) does: the same request class, the
    recorder, the handler, the response as moto builds it, and the CORS header Flask-CORS
    adds to every answer (Access-Control-Allow-Origin: *).
    Anything else (another service, path or signing scope, a browser's Origin) goes to `app`."""
    from botocore.exceptions import ClientError
    from flask import Response
    from moto import settings
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.moto_api import recorder
    from moto.moto_server import werkzeug_app
    from moto.sqs.responses import SQSResponse

    if settings.DISABLE_GLOBAL_CORS:
        return app
    dispatchers = (DynamoHandler.dispatch, DynamoDBStreamsHandler.dispatch, SQSResponse.dispatch)
    handlers = {target: (service, dispatch)
                for (target, service), dispatch in zip(DIRECT_TARGETS.items(), dispatchers, strict=True)}
    request_class = werkzeug_app.BackendRequest

    def direct(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service, dispatch = handlers.get(environ.get("HTTP_X_AMZ_TARGET", "").partition(".")[0], ("", None))
        if (dispatch is None or environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") not in ("/", "")
                or "HTTP_ORIGIN" in environ or "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK" in environ
                or signing_service(environ) != service):
            return app(environ, start_response)
        request = request_class(environ)
        recorder._record_request(request)
        try:
            result = dispatch(request, request.raw_url, dict(request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        response = Response(response=content, status=status, headers=headers)
        if "Access-Control-Allow-Origin" not in response.headers:
            response.headers.add("Access-Control-Allow-Origin", "*")
        return response(environ, start_response)

    return direct


def own_recording(name: str) -> None:
    """Each process of a split emulator records to its own file (moto appends one line per
    request; two processes appending to one file could interleave): the main one to
    MOTO_RECORDER_FILEPATH as given, the others beside it. Read before moto is imported."""
    path = os.environ.get("MOTO_RECORDER_FILEPATH")
    if path and name:
        os.environ["MOTO_RECORDER_FILEPATH"] = f"{path}.{name}"


def serve(host: str, port: int, routes: dict[str, str] | None = None, name: str = "") -> None:
    """moto's WSGI app on waitress rather than moto's own werkzeug server:
    werkzeug's development server closes the connection after every response,
    so every AWS call paid a TCP connect and a new thread. Waitress keeps
    connections alive; the pipeline's burst throughput went from 5.0 to 6.5
    leads/s with the emulator the bottleneck either way (bench/pipeline.py)."""
    share_botocore_data()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from waitress import create_server

    cache_backend_lookup()
    cache_method_names()
    cheaper_random_strings()
    from devstack import emulator_dynamodb, emulator_resources, emulator_sqs

    emulator_dynamodb.install()
    emulator_sqs.install()
    emulator_resources.forget_on_reset()
    install_hooks()
    skip_cloudformation_warnings()
    dispatcher = DomainDispatcherApplication(cloudformation_when_asked(create_backend_app))
    # Every process makes its part of leadflow's template at RESOURCES_PATH, without
    # CloudFormation (devstack/emulator_resources.py).
    app = emulator_resources.with_resources(with_routes(direct_json_targets(dispatcher), routes or {}))
    server = create_server(app, host=host, port=port, threads=SERVER_THREADS, ident="moto")
    # Served from a daemon thread: on a signal the process ends at once,
    # long polls in flight included, as a stopped emulator should.
    stop = lifeline.StopSignal()
    threading.Thread(target=server.run, name="emulator", daemon=True).start()
    stop.wait()
    server.close()
    profiling.dump(f"emulator-{name or 'main'}")
    # Straight out: the interpreter's teardown of moto's modules and state took ~0.7 s of
    # every stop, and an emulator's state goes with it anyway. Output is flushed first.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description="leadflow local AWS emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--name", default="", help="this process's part of a split emulator (\"\": the main one)")
    parser.add_argument("--route", action="append", default=[], metavar="SERVICE=URL",
                        help="a service another emulator process serves (told to tools that ask)")
    args = parser.parse_args()
    own_recording(args.name)
    routes = dict(item.split("=", 1) for item in args.route)
    lifeline.watch_parent()
    profiling.start()
    serve(args.host, args.port, routes, args.name)


if __name__ == "__main__":
    main()
