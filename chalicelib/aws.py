"""Lazily built AWS clients, one of each per container.

The same code talks to AWS and to the local emulator: boto3 reads the
endpoint from `AWS_ENDPOINT_URL` when it is set (only `make run` and the
tests set it), so nothing here knows which one it is talking to.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

# Short timeouts and standard retries: a Lambda must not hang on one call.
_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"max_attempts": 3, "mode": "standard"},
)


@cache
def client(service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service, config=_CLIENT_CONFIG)


# Enrichment is budgeted: no botocore retries (the caller retries throttling
# once itself) and short timeouts, so a slow table cannot hold up an email.
_ENRICHMENT_CONFIG = Config(
    connect_timeout=0.5,
    read_timeout=1,
    retries={"total_max_attempts": 1, "mode": "standard"},
)


@cache
def enrichment_dynamodb() -> Any:
    import boto3

    return boto3.session.Session().client("dynamodb", config=_ENRICHMENT_CONFIG)


def dynamodb() -> Any:
    return client("dynamodb")


def sns() -> Any:
    return client("sns")


def sqs() -> Any:
    return client("sqs")


# SES has no idempotency token: a send retried after a timeout can go out
# twice. So botocore never retries a send; the worker sorts the error
# (mailer.classify) and retries only what SES certainly did not accept.
_SES_CONFIG = Config(
    connect_timeout=2,
    read_timeout=10,
    retries={"total_max_attempts": 1, "mode": "standard"},
)


@cache
def sesv2() -> Any:
    import boto3

    return boto3.session.Session().client("sesv2", config=_SES_CONFIG)


def s3() -> Any:
    return client("s3")
