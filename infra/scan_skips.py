"""The security scan's (checkov's) findings leadflow declines, each with its reason.

checkov reads a skip from the resource itself (`Metadata.checkov.skip`, an id
and a comment), so the reason ships in the template next to what it excuses
and a reviewer of the template sees it. Everything checkov asks for that is
not listed here is done in the template (tests/deploy/test_scan.py fails on
any finding that is neither done nor listed).
"""

from __future__ import annotations

from typing import Any

# Lambda functions
FUNCTION_VPC = (
    "CKV_AWS_117",
    "The functions call only AWS APIs (DynamoDB, SNS, SQS, SES, S3), over TLS and authorised by IAM; there is "
    "no private resource to reach. A VPC would add NAT gateways or interface endpoints, cost and cold-start "
    "time, and no protection.",
)
FUNCTION_ENV_CMK = (
    "CKV_AWS_173",
    "The variables hold resource names, ARNs, addresses and the admin token's SHA-256, never a secret; Lambda "
    "encrypts them at rest with its AWS managed key. A customer managed key would add a KMS call to every cold "
    "start and guard nothing secret.",
)
DLQ_SYNCHRONOUS = (
    "CKV_AWS_116",
    "Invoked synchronously by API Gateway: the caller gets the error. A Lambda DLQ only ever receives "
    "asynchronous invocations, so it would stay empty.",
)
DLQ_STREAM = (
    "CKV_AWS_116",
    "A stream consumer: failed batches go to the event source mapping's OnFailure destination "
    "(DestinationConfig, a 14-day SQS queue). A function DLQ applies to asynchronous invocations only.",
)
DLQ_QUEUE = (
    "CKV_AWS_116",
    "An SQS consumer: messages that keep failing move to the queue's own dead-letter queue (RedrivePolicy, "
    "maxReceiveCount 3). A function DLQ applies to asynchronous invocations only.",
)
DLQ_ASYNC_DESTINATION = (
    "CKV_AWS_116",
    "Invoked asynchronously by SNS: EventInvokeConfig sends a failed event, after Lambda's retries, to its "
    "OnFailure destination (a 14-day SQS queue), with the error and request context a DLQ would lack. "
    "checkov only recognises DeadLetterConfig; setting both would file every failure twice.",
)
CONCURRENCY_STREAM = (
    "CKV_AWS_115",
    "A stream consumer runs one invocation per shard (ParallelizationFactor 1), so the shard count bounds it. "
    "A reservation below that would only throttle and stall shards.",
)
CONCURRENCY_QUEUE = (
    "CKV_AWS_115",
    "An SQS consumer: a throttled batch returns to the queue and counts toward maxReceiveCount, so a "
    "reservation would dead-letter good mail under load. If SQS consumers need a cap, it goes on the mapping "
    "(ScalingConfig.MaximumConcurrency), which does not throttle.",
)

# Data stores
TABLE_CMK = (
    "CKV_AWS_119",
    "Encrypted at rest with DynamoDB's AWS owned key (SSEEnabled). A customer managed key would need KMS "
    "permissions for every reader and writer (six roles, stream pollers, operators) and makes the data "
    "unreadable if the key is lost, for no confidentiality gain inside one account.",
)
QUEUE_SSE = (
    "CKV_AWS_27",
    "Encrypted at rest with SQS managed SSE (SqsManagedSseEnabled), which checkov 3.3 does not recognise. A "
    "customer managed key would need KMS grants for SNS, the Lambda pollers, the on-failure destinations and "
    "operators' redrives, for no confidentiality gain inside one account.",
)
BUCKET_ACCESS_LOGS = (
    "CKV_AWS_18",
    "Only the stack's own roles write the audit log and no one else may read it (public access blocked, "
    "TLS-only policy, versioned). Who touched which object is CloudTrail's job (S3 data events on the "
    "account's trail); a server-access-log bucket would itself be a bucket without access logs.",
)
LOG_GROUP_ONE_YEAR = (
    "CKV_AWS_338",
    "Logs hold masked personal data and are kept 90 days (data minimisation). The audit bucket is the "
    "long-term record of every change.",
)
SECRET_CMK = (
    "CKV_AWS_149",
    "The HMAC key is encrypted with Secrets Manager's AWS managed key; only the three roles granted "
    "GetSecretValue on this one secret can read it. A customer managed key would add a kms:Decrypt grant per "
    "role and a KMS call per cold start, and restrict nothing IAM does not already restrict inside one account.",
)
SECRET_ROTATION = (
    "CKV2_AWS_57",
    "The key derives the send ledger's delivery ids: rotating it would give an email redelivered after the "
    "rotation a new ledger row, so it could be sent twice. It is replaced only by a deliberate migration.",
)

# API Gateway
API_CACHE = (
    "CKV_AWS_120",
    "Nothing here may be cached: POST /leads writes, and the admin routes must show live delivery status; a "
    "cache would serve stale or another caller's answers.",
)


def checkov_metadata(*skips: tuple[str, str]) -> dict[str, Any]:
    """A resource's Metadata entry that tells checkov which checks are declined and why."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}


# Per kind of Lambda function (infra.app_model kinds).
FUNCTION_SKIPS: dict[str, tuple[tuple[str, str], ...]] = {
    "api": (FUNCTION_VPC, FUNCTION_ENV_CMK, DLQ_SYNCHRONOUS),
    "authorizer": (FUNCTION_VPC, FUNCTION_ENV_CMK, DLQ_SYNCHRONOUS),
    "dynamodb": (FUNCTION_VPC, FUNCTION_ENV_CMK, DLQ_STREAM, CONCURRENCY_STREAM),
    "sqs": (FUNCTION_VPC, FUNCTION_ENV_CMK, DLQ_QUEUE, CONCURRENCY_QUEUE),
    "sns": (FUNCTION_VPC, FUNCTION_ENV_CMK, DLQ_ASYNC_DESTINATION),
}
