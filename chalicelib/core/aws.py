"""Lazily built AWS clients, one of each per container.

The same code talks to AWS and to the local emulator: boto3 reads the
endpoint from `AWS_ENDPOINT_URL` when it is set (only `make run` and the
tests set it), so nothing here knows which one it is talking to.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Any

from botocore.config import Config

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

    Each client gets a session of its own (sessions are not thread-safe, and the local runtime
    builds clients from several threads), but a new session also gets a new loader that reads
    and decodes those files again: shared, each file is read once per container."""
    from botocore.loaders import create_loader

    return create_loader()


def new_session() -> Any:
    """A boto3 session of its own, reading botocore's data through the shared loader."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", _data_loader())
    return boto3.session.Session(botocore_session=core)


@cache
def client(service: str, purpose: Purpose = Purpose.DEFAULT) -> Any:
    """One client per service and purpose per container."""
    # Typed as Any: the service is chosen at run time, and each call site knows its own API.
    return new_session().client(service, config=_CONFIGS[purpose])


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
