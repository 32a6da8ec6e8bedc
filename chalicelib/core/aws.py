"""Lazily built AWS clients, one of each per container.

The same code talks to AWS and to the local emulator: boto3 reads the
endpoint from `AWS_ENDPOINT_URL` when it is set (only `make run` and the
tests set it), so nothing here knows which one it is talking to.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from functools import cache
from typing import Any

from botocore.config import Config

from chalicelib.core.caching import locked_cache

# Short timeouts and standard retries: a Lambda must not hang on one call.
# (botocore's `max_attempts` counts retries; `total_max_attempts` counts calls.)
_DEFAULT = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 4, "mode": "standard"})

# Enrichment is budgeted: no botocore retries (the caller retries throttling
# once itself) and short timeouts, so a slow table cannot hold up an email.
_ENRICHMENT = Config(connect_timeout=0.5, read_timeout=1, retries={"total_max_attempts": 1, "mode": "standard"})

# SES has no idempotency token: a send retried after a timeout can go out
# twice. So botocore never retries a send; the worker sorts the error
# (email.ses.classify) and retries only what SES certainly did not accept.
_SENDING = Config(connect_timeout=2, read_timeout=10, retries={"total_max_attempts": 1, "mode": "standard"})


class Purpose(StrEnum):
    """What a client is for: each purpose has its own timeouts and retries."""

    DEFAULT = "default"
    ENRICHMENT = "enrichment"
    SENDING = "sending"


_CONFIGS = {Purpose.DEFAULT: _DEFAULT, Purpose.ENRICHMENT: _ENRICHMENT, Purpose.SENDING: _SENDING}


@cache
def _data_loader() -> Any:
    """botocore's reader of its JSON data (service models, endpoints, partitions), shared.

    A new session would get a new loader that reads and decodes those files again: shared by
    every session made here (the clients' one, and those the tests make), each file is read
    once per container."""
    from botocore.loaders import create_loader

    return create_loader()


def new_session() -> Any:
    """A boto3 session of its own, reading botocore's data through the shared loader."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    loader = _data_loader()
    core.register_component("data_loader", loader)
    session = boto3.session.Session(botocore_session=core)
    # Each boto3 session appends its data directory to the loader's search path: once is enough.
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session


_session_lock = threading.Lock()


@cache
def _shared_session() -> Any:
    return new_session()


def new_client(service: str, **options: Any) -> Any:
    """A client from this process's one boto3 session.

    A session is not thread-safe, but its clients are: clients are made one at a time under a
    lock (the local runtime's pollers and a message's parallel sends make them from several
    threads). A session's own set-up (~18 ms: botocore registers ~130 event handlers) is then
    paid once, not once per client."""
    with _session_lock:
        return _shared_session().client(service, **options)


def forget_clients() -> None:
    """Build the session and every client again (tests change the environment between cases)."""
    client.cache_clear()
    _shared_session.cache_clear()


@locked_cache
def client(service: str, purpose: Purpose = Purpose.DEFAULT) -> Any:
    """One client per service and purpose per container."""
    # Typed as Any: the service is chosen at run time, and each call site knows its own API.
    return new_client(service, config=_CONFIGS[purpose])


def enrichment_dynamodb() -> Any:
    return client("dynamodb", Purpose.ENRICHMENT)


def dynamodb() -> Any:
    return client("dynamodb")


def sns() -> Any:
    return client("sns")


def sqs() -> Any:
    return client("sqs")


def sesv2() -> Any:
    return client("sesv2", Purpose.SENDING)


def s3() -> Any:
    return client("s3")


def secretsmanager() -> Any:
    return client("secretsmanager")
