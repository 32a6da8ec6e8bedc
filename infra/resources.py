"""The one description of leadflow's AWS resources, as a CloudFormation template.

The same template provisions the local emulator (devstack.provision) and is
deployed to AWS (infra.deploy); so local and AWS cannot drift. Physical names
are derived from the stage, so `.chalice/config.json` can name them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.core.reputation import SES_BOUNCE_RATE_REVIEW, SES_COMPLAINT_RATE_REVIEW
from infra import scan_skips

RETENTION_14_DAYS = 14 * 24 * 3600

# The Lambda functions Chalice deploys for app.py, by Chalice's function name,
# with the kind of event that invokes each. infra.app_model discovers the real
# set from the app; this default keeps `template()` usable without loading it.
API_HANDLER = "api_handler"
DEFAULT_FUNCTIONS: dict[str, str] = {
    API_HANDLER: "api",
    "admin_auth": "authorizer",
    "on_lead_stream": "dynamodb",
    "on_notification": "sqs",
    "on_ses_feedback": "sns",
    "on_lead_audit": "dynamodb",
    "on_callback": "sqs",
}

# A stream consumer more than this far behind is not keeping up.
ITERATOR_AGE_ALARM_MS = 60_000
# Mail waiting longer than this in the Notifications queue is late.
QUEUE_AGE_ALARM_SECONDS = 600
# Every log group of the stack (functions' and the API's access log): personal
# data in them is masked, and 90 days covers an incident's investigation.
LOG_RETENTION_DAYS = 90
STACK_KEY = {"Fn::GetAtt": ["StackKey", "Arn"]}
DEAD_LETTER_QUEUES = ("NotificationsDLQ", "LeadStreamDLQ", "LeadAuditDLQ", "SesFeedbackDLQ", "CallbacksDLQ")
# A callback waits out its retries (up to 6 h each) in the queue, so its age alarm is about
# a consumer that stopped, not about a receiver that is down.
CALLBACK_QUEUE_AGE_ALARM_SECONDS = 8 * 3600
# The callback worker dead-letters a message itself after its last retry (CALLBACK_RETRY_SECONDS);
# the queue's own redrive is the safety net for a message that keeps crashing the worker.
CALLBACK_MAX_RECEIVES = 10


def physical_name(stage: str, suffix: str) -> str:
    return f"leadflow-{stage}-{suffix}"


def lambda_function_name(stage: str, function: str) -> str:
    """The physical name Chalice gives a function (`chalice deploy` and our package)."""
    return f"leadflow-{stage}" if function == API_HANDLER else f"leadflow-{stage}-{function}"


def _function_name_sub(function: str) -> dict[str, str]:
    return {"Fn::Sub": lambda_function_name("${Stage}", function)}


def _sub(suffix: str) -> dict[str, str]:
    return {"Fn::Sub": "leadflow-${Stage}-" + suffix}


def _attrs(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": "S"} for name in names]


def _key(hash_key: str, range_key: str | None = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def _index(name: str, hash_key: str, range_key: str | None = None) -> dict[str, Any]:
    return {"IndexName": name, "KeySchema": _key(hash_key, range_key), "Projection": {"ProjectionType": "ALL"}}


def _table(
    suffix: str,
    hash_key: str,
    attributes: list[str],
    indexes: list[dict[str, Any]] | None = None,
    ttl_attribute: str | None = None,
    stream: str | None = None,
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "TableName": _sub(suffix),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": _attrs(*attributes),
        "KeySchema": _key(hash_key),
        "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    if indexes:
        props["GlobalSecondaryIndexes"] = indexes
    if ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl_attribute, "Enabled": True}
    if stream:
        props["StreamSpecification"] = {"StreamViewType": stream}
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": scan_skips.checkov_metadata(scan_skips.TABLE_CMK),
        "Properties": props,
    }


def _queue(suffix: str, dlq: str | None = None, visibility: int = 60, max_receives: int = 3) -> dict[str, Any]:
    props: dict[str, Any] = {
        "QueueName": _sub(suffix),
        "MessageRetentionPeriod": RETENTION_14_DAYS,
        "SqsManagedSseEnabled": True,
        "VisibilityTimeout": visibility,
    }
    if dlq:
        props["RedrivePolicy"] = {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": max_receives}
    metadata = scan_skips.checkov_metadata(scan_skips.QUEUE_SSE)
    return {"Type": "AWS::SQS::Queue", "Metadata": metadata, "Properties": props}


def _topic(suffix: str, key: Any = "alias/aws/sns") -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": _sub(suffix), "KmsMasterKeyId": key},
    }


def _stack_key() -> dict[str, Any]:
    """The stack's one customer managed key: the topics AWS services publish to, and the log groups.

    SES event publishing and CloudWatch alarm actions cannot use the AWS
    managed aws/sns key (its policy cannot grant them), so the topics they
    publish to are encrypted with this key, whose policy does; CloudWatch Logs
    encrypts the stack's log groups with it (only this account's log groups).
    """
    account_root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    return {
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": {"Fn::Sub": "leadflow-${Stage}: SES feedback and alarm topics, log groups"},
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": account_root},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "ServicesPublishToEncryptedTopics",
                        "Effect": "Allow",
                        "Principal": {"Service": ["ses.amazonaws.com", "cloudwatch.amazonaws.com"]},
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    },
                    {
                        "Sid": "LogsEncryptLogGroups",
                        "Effect": "Allow",
                        "Principal": {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}},
                        "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                        "Resource": "*",
                        # Only for this account's log groups (the context CloudWatch Logs encrypts with).
                        "Condition": {
                            "StringLike": {
                                "kms:EncryptionContext:aws:logs:arn": {
                                    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
                                }
                            }
                        },
                    },
                    {
                        "Sid": "LogsDescribeKey",
                        "Effect": "Allow",
                        "Principal": {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}},
                        "Action": "kms:DescribeKey",
                        "Resource": "*",
                    },
                ],
            },
        },
    }


def log_group(name: Any) -> dict[str, Any]:
    """A log group with the stack's retention, encrypted with the stack key."""
    return {
        "Type": "AWS::Logs::LogGroup",
        "Metadata": scan_skips.checkov_metadata(scan_skips.LOG_GROUP_ONE_YEAR),
        "Properties": {"LogGroupName": name, "RetentionInDays": LOG_RETENTION_DAYS, "KmsKeyId": STACK_KEY},
    }


def _service_topic_policy(topic: str, service: str) -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {
            "Topics": [{"Ref": topic}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ServicePublishes",
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sns:Publish",
                        "Resource": {"Ref": topic},
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }
                ],
            },
        },
    }


def _bucket_tls_policy(bucket: str) -> dict[str, Any]:
    bucket_arn = {"Fn::GetAtt": [bucket, "Arn"]}
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": bucket},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }


def _subscription(topic: str, queue: str) -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::Subscription",
        "Properties": {
            "TopicArn": {"Ref": topic},
            "Protocol": "sqs",
            "Endpoint": {"Fn::GetAtt": [queue, "Arn"]},
            "RawMessageDelivery": True,
        },
    }


def _queue_policy(queue: str, topics: list[str]) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": queue}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [queue, "Arn"]},
                        "Condition": {"ArnEquals": {"aws:SourceArn": [{"Ref": t} for t in topics]}},
                    }
                ],
            },
        },
    }


def _alarm(
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    statistic: str,
    threshold: float,
    period: int = 300,
    evaluation_periods: int = 1,
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "AlarmDescription": {"Fn::Sub": "leadflow-${Stage}: " + description},
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
        "Statistic": statistic,
        "Period": period,
        "EvaluationPeriods": evaluation_periods,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        # No data means no traffic, which is not a failure.
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlarmsTopic"}],
        "OKActions": [{"Ref": "AlarmsTopic"}],
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def logical_prefix(function: str) -> str:
    """CamelCase of a Chalice function name, as Chalice's own CFN names use."""
    return "".join(part[:1].upper() + part[1:] for part in function.replace("-", "_").split("_"))


def _function_alarms(functions: Mapping[str, str]) -> dict[str, Any]:
    alarms: dict[str, Any] = {}
    for function, kind in functions.items():
        prefix, dims = logical_prefix(function), {"FunctionName": _function_name_sub(function)}
        alarms[f"{prefix}ErrorsAlarm"] = _alarm(f"{function} errors", "AWS/Lambda", "Errors", dims, "Sum", 1)
        alarms[f"{prefix}ThrottlesAlarm"] = _alarm(f"{function} throttled", "AWS/Lambda", "Throttles", dims, "Sum", 1)
        if kind == "dynamodb":
            alarms[f"{prefix}IteratorAgeAlarm"] = _alarm(
                f"{function} is falling behind its stream",
                "AWS/Lambda",
                "IteratorAge",
                dims,
                "Maximum",
                ITERATOR_AGE_ALARM_MS,
                period=60,
                evaluation_periods=5,
            )
    return alarms


def _queue_alarms() -> dict[str, Any]:
    alarms = {
        f"{queue}DepthAlarm": _alarm(
            f"messages in {queue}",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}},
            "Maximum",
            1,
        )
        for queue in DEAD_LETTER_QUEUES
    }
    alarms["NotificationsQueueAgeAlarm"] = _alarm(
        "notifications waiting too long",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"QueueName": {"Fn::GetAtt": ["NotificationsQueue", "QueueName"]}},
        "Maximum",
        QUEUE_AGE_ALARM_SECONDS,
    )
    alarms["CallbacksQueueAgeAlarm"] = _alarm(
        "status callbacks waiting too long",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"QueueName": {"Fn::GetAtt": ["CallbacksQueue", "QueueName"]}},
        "Maximum",
        CALLBACK_QUEUE_AGE_ALARM_SECONDS,
    )
    return alarms


def _ses_alarms() -> dict[str, Any]:
    # SES publishes these account-wide reputation rates (0.05 == 5%).
    return {
        "SesBounceRateAlarm": _alarm(
            "SES bounce rate at the 5% review level",
            "AWS/SES",
            "Reputation.BounceRate",
            {},
            "Maximum",
            SES_BOUNCE_RATE_REVIEW,
            period=900,
        ),
        "SesComplaintRateAlarm": _alarm(
            "SES complaint rate at the 0.1% review level",
            "AWS/SES",
            "Reputation.ComplaintRate",
            {},
            "Maximum",
            SES_COMPLAINT_RATE_REVIEW,
            period=900,
        ),
    }


def _metric_widget(title: str, metrics: list[list[Any]], stat: str, x: int, y: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {"title": title, "metrics": metrics, "stat": stat, "period": 300, "region": "${AWS::Region}"},
    }


def _dashboard(functions: Mapping[str, str]) -> dict[str, Any]:
    names = {f: lambda_function_name("${Stage}", f) for f in functions}
    per_function = [
        [["AWS/Lambda", metric, "FunctionName", name] for name in names.values()]
        for metric in ("Invocations", "Errors", "Throttles", "Duration")
    ]
    streams = [["AWS/Lambda", "IteratorAge", "FunctionName", names[f]] for f, k in functions.items() if k == "dynamodb"]
    queues = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "leadflow-${Stage}-" + suffix]
        for suffix in ("notifications", "notifications-dlq", "lead-stream-dlq", "lead-audit-dlq", "ses-feedback-dlq",
                       "callbacks", "callbacks-dlq")
    ]
    mail = [
        ["leadflow", metric, "service", "leadflow"]
        for metric in ("EmailsSent", "SendFailures", "Suppressed", "CallbacksDelivered", "CallbacksDeadLettered")
    ]
    reputation = [["AWS/SES", "Reputation.BounceRate"], ["AWS/SES", "Reputation.ComplaintRate"]]
    widgets = [
        _metric_widget("Lambda invocations", per_function[0], "Sum", 0, 0),
        _metric_widget("Lambda errors", per_function[1], "Sum", 12, 0),
        _metric_widget("Lambda throttles", per_function[2], "Sum", 0, 6),
        _metric_widget("Lambda duration p99", per_function[3], "p99", 12, 6),
        _metric_widget("Stream iterator age (ms)", streams, "Maximum", 0, 12),
        _metric_widget("Queue and DLQ depth", queues, "Maximum", 12, 12),
        _metric_widget("Emails", mail, "Sum", 0, 18),
        _metric_widget("SES reputation (bounce, complaint rate)", reputation, "Maximum", 12, 18),
    ]
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "leadflow-${Stage}"},
            "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets}, separators=(",", ":"))},
        },
    }


def observability(functions: Mapping[str, str]) -> dict[str, Any]:
    """Alarms (to the AlarmsTopic) and the dashboard, for these Lambda functions."""
    return {
        "AlarmsTopic": _topic("alarms", key=STACK_KEY),
        "AlarmsTopicPolicy": _service_topic_policy("AlarmsTopic", "cloudwatch.amazonaws.com"),
        **_function_alarms(functions),
        **_queue_alarms(),
        **_ses_alarms(),
        "Dashboard": _dashboard(functions),
    }


def resources(functions: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        **_data_resources(),
        **observability(DEFAULT_FUNCTIONS if functions is None else functions),
    }


def _data_resources() -> dict[str, Any]:
    return {
        "StackKey": _stack_key(),
        # The REST API's access log (API Gateway writes one line per request to it).
        "ApiAccessLogGroup": log_group({"Fn::Sub": "/aws/apigateway/leadflow-${Stage}/access"}),
        "LeadsTable": _table(
            "leads",
            "id",
            ["id", "email", "created_at", "listing", "source"],
            indexes=[
                _index("by_email", "email", "created_at"),
                _index("by_created", "listing", "created_at"),
                # The dashboard's filter by source (no scan).
                _index("by_source", "source", "created_at"),
            ],
            stream="NEW_IMAGE",
        ),
        "DeliveriesTable": _table(
            "deliveries",
            "delivery_id",
            ["delivery_id", "lead_id", "recipient", "status", "message_id", "created_at", "updated_at"],
            indexes=[
                _index("by_lead", "lead_id", "created_at"),
                _index("by_recipient", "recipient", "updated_at"),
                _index("by_status", "status", "updated_at"),
                _index("by_message_id", "message_id"),
            ],
            ttl_attribute="expires_at",
        ),
        # by_since lists the suppressed addresses newest first (the dashboard; no scan).
        "SuppressionTable": _table(
            "suppression", "address", ["address", "listing", "since"], indexes=[_index("by_since", "listing", "since")]
        ),
        "IdempotencyTable": _table("idempotency", "key", ["key"], ttl_attribute="expires_at"),
        "RateLimitTable": _table("rate-limits", "bucket", ["bucket"], ttl_attribute="expires_at"),
        # The app's HMAC key (chalicelib/core/keys.py), generated here: it never exists outside AWS.
        "HmacKeySecret": {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": scan_skips.checkov_metadata(scan_skips.SECRET_CMK, scan_skips.SECRET_ROTATION),
            "Properties": {
                "Name": _sub("hmac-key"),
                "Description": {"Fn::Sub": "leadflow-${Stage}: HMAC key of delivery ids, lead events, rate limits"},
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        },
        # POST /notifications: one record per request (sender, reference, callback URL, status history).
        "NotificationsTable": _table("notifications", "id", ["id"], ttl_attribute="expires_at"),
        "LeadEventsTopic": _topic("lead-events"),
        "NotificationRequestsTopic": _topic("notification-requests"),
        "SesFeedbackTopic": _topic("ses-feedback", key=STACK_KEY),
        "SesFeedbackTopicPolicy": _service_topic_policy("SesFeedbackTopic", "ses.amazonaws.com"),
        "NotificationsDLQ": _queue("notifications-dlq"),
        "NotificationsQueue": _queue("notifications", dlq="NotificationsDLQ"),
        "LeadStreamDLQ": _queue("lead-stream-dlq"),
        # The audit stream consumer's OnFailure destination (its own, so a redrive
        # knows which handler a dead letter belongs to).
        "LeadAuditDLQ": _queue("lead-audit-dlq"),
        "SesFeedbackDLQ": _queue("ses-feedback-dlq"),
        # Status callbacks to senders: retried through message visibility, then dead-lettered.
        "CallbacksDLQ": _queue("callbacks-dlq"),
        "CallbacksQueue": _queue("callbacks", dlq="CallbacksDLQ", max_receives=CALLBACK_MAX_RECEIVES),
        "LeadEventsSubscription": _subscription("LeadEventsTopic", "NotificationsQueue"),
        "NotificationRequestsSubscription": _subscription("NotificationRequestsTopic", "NotificationsQueue"),
        "NotificationsQueuePolicy": _queue_policy(
            "NotificationsQueue", ["LeadEventsTopic", "NotificationRequestsTopic"]
        ),
        "AuditBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": scan_skips.checkov_metadata(scan_skips.BUCKET_ACCESS_LOGS),
            "Properties": {
                "BucketName": {"Fn::Sub": "leadflow-${Stage}-audit-${AWS::AccountId}"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
            },
        },
        "AuditBucketPolicy": _bucket_tls_policy("AuditBucket"),
        "SesConfigurationSet": {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {"Name": {"Fn::Sub": "leadflow-${Stage}"}},
        },
        "SesFeedbackDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": "SesConfigurationSet"},
                "EventDestination": {
                    "Name": "feedback-to-sns",
                    "Enabled": True,
                    "MatchingEventTypes": ["reject", "delivery", "bounce", "complaint"],
                    "SnsDestination": {"TopicARN": {"Ref": "SesFeedbackTopic"}},
                },
            },
        },
    }


def outputs() -> dict[str, Any]:
    def out(value: Any) -> dict[str, Any]:
        return {"Value": value}

    return {
        "LeadsTableName": out({"Ref": "LeadsTable"}),
        "LeadsStreamArn": out({"Fn::GetAtt": ["LeadsTable", "StreamArn"]}),
        "DeliveriesTableName": out({"Ref": "DeliveriesTable"}),
        "SuppressionTableName": out({"Ref": "SuppressionTable"}),
        "IdempotencyTableName": out({"Ref": "IdempotencyTable"}),
        "RateLimitTableName": out({"Ref": "RateLimitTable"}),
        "NotificationsTableName": out({"Ref": "NotificationsTable"}),
        "CallbacksQueueName": out({"Fn::GetAtt": ["CallbacksQueue", "QueueName"]}),
        "CallbacksDLQName": out({"Fn::GetAtt": ["CallbacksDLQ", "QueueName"]}),
        "CallbacksDLQArn": out({"Fn::GetAtt": ["CallbacksDLQ", "Arn"]}),
        "LeadEventsTopicArn": out({"Ref": "LeadEventsTopic"}),
        "NotificationRequestsTopicArn": out({"Ref": "NotificationRequestsTopic"}),
        "SesFeedbackTopicArn": out({"Ref": "SesFeedbackTopic"}),
        "SesFeedbackTopicName": out({"Fn::GetAtt": ["SesFeedbackTopic", "TopicName"]}),
        "NotificationsQueueName": out({"Fn::GetAtt": ["NotificationsQueue", "QueueName"]}),
        "NotificationsDLQName": out({"Fn::GetAtt": ["NotificationsDLQ", "QueueName"]}),
        "NotificationsQueueArn": out({"Fn::GetAtt": ["NotificationsQueue", "Arn"]}),
        "NotificationsDLQArn": out({"Fn::GetAtt": ["NotificationsDLQ", "Arn"]}),
        "LeadStreamDLQArn": out({"Fn::GetAtt": ["LeadStreamDLQ", "Arn"]}),
        "LeadStreamDLQName": out({"Fn::GetAtt": ["LeadStreamDLQ", "QueueName"]}),
        "LeadAuditDLQName": out({"Fn::GetAtt": ["LeadAuditDLQ", "QueueName"]}),
        "SesFeedbackDLQName": out({"Fn::GetAtt": ["SesFeedbackDLQ", "QueueName"]}),
        "LeadAuditDLQArn": out({"Fn::GetAtt": ["LeadAuditDLQ", "Arn"]}),
        "SesFeedbackDLQArn": out({"Fn::GetAtt": ["SesFeedbackDLQ", "Arn"]}),
        "AuditBucketName": out({"Ref": "AuditBucket"}),
        "SesConfigurationSetName": out({"Ref": "SesConfigurationSet"}),
        "AlarmsTopicArn": out({"Ref": "AlarmsTopic"}),
        "ApiAccessLogGroupArn": out({"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}),
    }


def template(functions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The resources stack; `functions` (Chalice name -> event kind) get alarms."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "leadflow resources: tables, topics, queues, bucket, SES configuration set, alarms",
        "Parameters": {"Stage": {"Type": "String", "AllowedPattern": "[a-z0-9-]+"}},
        "Resources": resources(functions),
        "Outputs": outputs(),
    }


if __name__ == "__main__":
    print(json.dumps(template(), indent=2))
