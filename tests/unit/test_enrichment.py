"""Enrichment: history, the related record, throttling, budget, circuit breaker."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.core import aws
from chalicelib.pipeline import enrichment, lead_stream, notifications
from tests.support.aws import reset_app_caches
from tests.support.pipeline import lead_image, post_lead, receive_all, sent_emails, sqs_event, stream_event

RELATED_TABLE = "leadflow-local-accounts"


@pytest.fixture
def related_table(local_aws, monkeypatch):
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=RELATED_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "account", "AttributeType": "S"},
                              {"AttributeName": "ref", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "account", "KeyType": "HASH"}, {"AttributeName": "ref", "KeyType": "RANGE"}],
    )
    dynamodb.put_item(
        TableName=RELATED_TABLE,
        Item={"account": {"S": "acme"}, "ref": {"S": "P-7"}, "plan": {"S": "gold"}, "owner": {"S": "Sam"}},
    )
    monkeypatch.setenv("RELATED_TABLE", RELATED_TABLE)
    monkeypatch.setenv("RELATED_KEY_FIELDS", json.dumps({"account": "metadata.account", "ref": "metadata.ref"}))
    reset_app_caches()
    enrichment._related_breaker.failures = 0
    yield RELATED_TABLE
    enrichment._related_breaker.failures = 0


def alert_text(env) -> str:
    for message in sent_emails(env):
        if "team@leadflow.example" in message.destinations:
            return message.raw_data
    raise AssertionError("no team alert")


def deliver(api_client, env, body):
    lead_id = post_lead(api_client, body)
    lead_stream.handle_stream_batch(stream_event([lead_image(env, lead_id)]))
    notifications.handle_batch(sqs_event(receive_all(env["NOTIFICATIONS_QUEUE"])))
    return lead_id


def test_returning_contact_history_in_team_alert(api_client, local_aws):
    post_lead(api_client, {"name": "Ada", "email": "ada@example.com", "message": "First question about pricing"})
    deliver(api_client, local_aws, {"name": "Ada", "email": "ada@example.com", "message": "Second"})
    text = alert_text(local_aws)
    assert "Returning contact: 1 earlier enquiry" in text
    assert "First question about pricing" in text


def test_first_contact_has_no_history(api_client, local_aws):
    deliver(api_client, local_aws, {"name": "New", "email": "new@example.com"})
    assert "Returning contact" not in alert_text(local_aws)


def test_related_record_is_shown(api_client, local_aws, related_table):
    deliver(api_client, local_aws, {"name": "Ada", "email": "ada@example.com",
                                    "metadata": {"account": "acme", "ref": "P-7"}})
    text = alert_text(local_aws)
    assert "plan: gold" in text and "owner: Sam" in text


@pytest.mark.parametrize("metadata", [{}, {"account": "acme"}, {"account": "acme", "ref": ""}])
def test_missing_key_fields_skip_with_a_warning(api_client, local_aws, related_table, app_logs, metadata):

    deliver(api_client, local_aws, {"name": "Ada", "email": "ada@example.com", "metadata": metadata})
    assert "missing or not a string" in app_logs.text
    assert "plan: gold" not in alert_text(local_aws)


def test_non_string_key_skips_with_a_warning(related_table, app_logs):

    lead = {"email": "a@example.com", "created_at": "x", "metadata": {"account": 5, "ref": "P-7"}}
    assert enrichment.related_record(lead, enrichment.Budget()) is None
    assert "missing or not a string" in app_logs.text


class ScriptedDynamo:
    """The enrichment client with get_item failing as scripted, then the real one."""

    def __init__(self, real, errors):
        self.real, self.errors, self.get_calls = real, list(errors), 0

    def get_item(self, **kwargs):
        self.get_calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.real.get_item(**kwargs)

    def query(self, **kwargs):
        return self.real.query(**kwargs)


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                       "GetItem")


LEAD = {"email": "a@example.com", "created_at": "2026-01-01", "metadata": {"account": "acme", "ref": "P-7"}}


def test_throttling_is_retried_once_after_500ms(related_table, monkeypatch):
    scripted = ScriptedDynamo(aws.enrichment_dynamodb(), [throttled()])
    monkeypatch.setattr(aws, "enrichment_dynamodb", lambda: scripted)
    sleeps: list[float] = []
    monkeypatch.setattr(enrichment.time, "sleep", sleeps.append)
    assert enrichment.related_record(LEAD, enrichment.Budget())["plan"] == "gold"
    assert scripted.get_calls == 2 and sleeps == [0.5]


def test_throttling_twice_gives_up(related_table, monkeypatch):
    scripted = ScriptedDynamo(aws.enrichment_dynamodb(), [throttled(), throttled()])
    monkeypatch.setattr(aws, "enrichment_dynamodb", lambda: scripted)
    monkeypatch.setattr(enrichment.time, "sleep", lambda _: None)
    assert enrichment.related_record(LEAD, enrichment.Budget()) is None
    assert scripted.get_calls == 2


def test_other_errors_are_not_retried(related_table, monkeypatch):
    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetItem")
    scripted = ScriptedDynamo(aws.enrichment_dynamodb(), [error])
    monkeypatch.setattr(aws, "enrichment_dynamodb", lambda: scripted)
    assert enrichment.related_record(LEAD, enrichment.Budget()) is None
    assert scripted.get_calls == 1


def test_breaker_stops_calling_a_failing_table(related_table, monkeypatch):
    error = ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "GetItem")
    scripted = ScriptedDynamo(aws.enrichment_dynamodb(), [error] * 10)
    monkeypatch.setattr(aws, "enrichment_dynamodb", lambda: scripted)
    for _ in range(6):
        assert enrichment.related_record(LEAD, enrichment.Budget()) is None
    assert scripted.get_calls == enrichment.BREAKER_THRESHOLD


def test_failing_table_never_blocks_the_email(api_client, local_aws, related_table, monkeypatch):
    error = ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "GetItem")
    scripted = ScriptedDynamo(aws.enrichment_dynamodb(), [error] * 10)
    monkeypatch.setattr(aws, "enrichment_dynamodb", lambda: scripted)
    deliver(api_client, local_aws, {"name": "Ada", "email": "ada@example.com",
                                    "metadata": {"account": "acme", "ref": "P-7"}})
    assert len(sent_emails(local_aws)) == 2


def test_exhausted_budget_skips_related_lookup(related_table, monkeypatch):
    scripted = ScriptedDynamo(aws.enrichment_dynamodb(), [])
    monkeypatch.setattr(aws, "enrichment_dynamodb", lambda: scripted)
    monkeypatch.setattr(enrichment, "ENRICHMENT_BUDGET_SECONDS", 0.0)
    result = enrichment.enrich({**LEAD, "created_at": "2026-01-01T00:00:00.000Z"})
    assert "related" not in result and scripted.get_calls == 0


def test_schema_fingerprint_and_latency_metric_are_logged(related_table, capsys, app_logs):

    enrichment.related_record(LEAD, enrichment.Budget())
    assert f"schema {enrichment.schema_fingerprint({'account': 1, 'ref': 1, 'plan': 1, 'owner': 1})}" in app_logs.text
    assert '"EnrichmentQueryLatencyMs"' in capsys.readouterr().out
