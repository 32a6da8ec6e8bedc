"""The one description of leadflow's AWS resources, as a CloudFormation template.

The same template provisions the local emulator (devstack.provision) and is
deployed to AWS (infra.deploy); so local and AWS cannot drift. Physical names
are derived from the stage, so `.chalice/config.json` can name them.
"""

from __future__ import annotations

import json
from typing import Any

RETENTION_14_DAYS = 14 * 24 * 3600


def physical_name(stage: str, suffix: str) -> str:
    return f"leadflow-{stage}-{suffix}"


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
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "Properties": props}


def _queue(suffix: str, dlq: str | None = None, visibility: int = 60) -> dict[str, Any]:
    props: dict[str, Any] = {
        "QueueName": _sub(suffix),
        "MessageRetentionPeriod": RETENTION_14_DAYS,
        "SqsManagedSseEnabled": True,
        "VisibilityTimeout": visibility,
    }
    if dlq:
        props["RedrivePolicy"] = {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 3}
    return {"Type": "AWS::SQS::Queue", "Properties": props}


def _topic(suffix: str) -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": _sub(suffix), "KmsMasterKeyId": "alias/aws/sns"},
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


def resources() -> dict[str, Any]:
    return {
        "LeadsTable": _table(
            "leads",
            "id",
            ["id", "email", "created_at", "listing"],
            indexes=[_index("by_email", "email", "created_at"), _index("by_created", "listing", "created_at")],
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
        "SuppressionTable": _table("suppression", "address", ["address"]),
        "IdempotencyTable": _table("idempotency", "key", ["key"], ttl_attribute="expires_at"),
        "RateLimitTable": _table("rate-limits", "bucket", ["bucket"], ttl_attribute="expires_at"),
        "LeadEventsTopic": _topic("lead-events"),
        "NotificationRequestsTopic": _topic("notification-requests"),
        "SesFeedbackTopic": _topic("ses-feedback"),
        "NotificationsDLQ": _queue("notifications-dlq"),
        "NotificationsQueue": _queue("notifications", dlq="NotificationsDLQ"),
        "LeadStreamDLQ": _queue("lead-stream-dlq"),
        "SesFeedbackDLQ": _queue("ses-feedback-dlq"),
        "LeadEventsSubscription": _subscription("LeadEventsTopic", "NotificationsQueue"),
        "NotificationRequestsSubscription": _subscription("NotificationRequestsTopic", "NotificationsQueue"),
        "NotificationsQueuePolicy": _queue_policy(
            "NotificationsQueue", ["LeadEventsTopic", "NotificationRequestsTopic"]
        ),
        "AuditBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketName": {"Fn::Sub": "leadflow-${Stage}-audit-${AWS::AccountId}"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
            },
        },
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
                    "MatchingEventTypes": ["send", "reject", "delivery", "bounce", "complaint"],
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
        "LeadEventsTopicArn": out({"Ref": "LeadEventsTopic"}),
        "NotificationRequestsTopicArn": out({"Ref": "NotificationRequestsTopic"}),
        "SesFeedbackTopicArn": out({"Ref": "SesFeedbackTopic"}),
        "NotificationsQueueName": out({"Fn::GetAtt": ["NotificationsQueue", "QueueName"]}),
        "NotificationsQueueArn": out({"Fn::GetAtt": ["NotificationsQueue", "Arn"]}),
        "NotificationsDLQArn": out({"Fn::GetAtt": ["NotificationsDLQ", "Arn"]}),
        "LeadStreamDLQArn": out({"Fn::GetAtt": ["LeadStreamDLQ", "Arn"]}),
        "SesFeedbackDLQArn": out({"Fn::GetAtt": ["SesFeedbackDLQ", "Arn"]}),
        "AuditBucketName": out({"Ref": "AuditBucket"}),
        "SesConfigurationSetName": out({"Ref": "SesConfigurationSet"}),
    }


def template() -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "leadflow resources: tables, topics, queues, bucket, SES configuration set",
        "Parameters": {"Stage": {"Type": "String", "AllowedPattern": "[a-z0-9-]+"}},
        "Resources": resources(),
        "Outputs": outputs(),
    }


if __name__ == "__main__":
    print(json.dumps(template(), indent=2))
