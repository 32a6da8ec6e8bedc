"""Which stage environment variable names which resource of infra/resources.py.

One table serves both deploy paths: the packaged template sets these
variables from the stack's own resources (Ref/GetAtt), and the `chalice
deploy` path writes the resources stack's outputs into .chalice/config.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Binding:
    logical_id: str
    attribute: str  # "Ref" or a GetAtt attribute
    output: str  # the resources stack output holding the same value

    def cfn_value(self) -> dict[str, Any]:
        if self.attribute == "Ref":
            return {"Ref": self.logical_id}
        return {"Fn::GetAtt": [self.logical_id, self.attribute]}


ENV_BINDINGS: dict[str, Binding] = {
    "LEADS_TABLE": Binding("LeadsTable", "Ref", "LeadsTableName"),
    "LEADS_STREAM_ARN": Binding("LeadsTable", "StreamArn", "LeadsStreamArn"),
    "DELIVERIES_TABLE": Binding("DeliveriesTable", "Ref", "DeliveriesTableName"),
    "SUPPRESSION_TABLE": Binding("SuppressionTable", "Ref", "SuppressionTableName"),
    "IDEMPOTENCY_TABLE": Binding("IdempotencyTable", "Ref", "IdempotencyTableName"),
    "RATE_LIMIT_TABLE": Binding("RateLimitTable", "Ref", "RateLimitTableName"),
    "LEAD_EVENTS_TOPIC_ARN": Binding("LeadEventsTopic", "Ref", "LeadEventsTopicArn"),
    "NOTIFICATION_REQUESTS_TOPIC_ARN": Binding("NotificationRequestsTopic", "Ref", "NotificationRequestsTopicArn"),
    "SES_FEEDBACK_TOPIC": Binding("SesFeedbackTopic", "TopicName", "SesFeedbackTopicName"),
    "NOTIFICATIONS_QUEUE": Binding("NotificationsQueue", "QueueName", "NotificationsQueueName"),
    "NOTIFICATIONS_DLQ": Binding("NotificationsDLQ", "QueueName", "NotificationsDLQName"),
    "SES_FEEDBACK_DLQ": Binding("SesFeedbackDLQ", "QueueName", "SesFeedbackDLQName"),
    "LEAD_STREAM_DLQ": Binding("LeadStreamDLQ", "QueueName", "LeadStreamDLQName"),
    "LEAD_AUDIT_DLQ": Binding("LeadAuditDLQ", "QueueName", "LeadAuditDLQName"),
    "AUDIT_BUCKET": Binding("AuditBucket", "Ref", "AuditBucketName"),
    "NOTIFICATIONS_TABLE": Binding("NotificationsTable", "Ref", "NotificationsTableName"),
    "CALLBACKS_QUEUE": Binding("CallbacksQueue", "QueueName", "CallbacksQueueName"),
    "CALLBACKS_DLQ": Binding("CallbacksDLQ", "QueueName", "CallbacksDLQName"),
    "SES_CONFIGURATION_SET": Binding("SesConfigurationSet", "Ref", "SesConfigurationSetName"),
}


def environment_from_outputs(outputs: dict[str, str]) -> dict[str, str]:
    """The stage variables a deployed resources stack determines."""
    return {env: outputs[b.output] for env, b in ENV_BINDINGS.items() if b.output in outputs}
