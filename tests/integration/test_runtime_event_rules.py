"""The runtime's pure rules: event filtering, partial batch responses, masking, event shapes."""

from __future__ import annotations

import datetime as dt

import pytest

from devstack.events import filtering, shapes
from devstack.events.invoker import judge_batch_response
from devstack.events.masking import mask_text
from devstack.events.settings import parse

INSERT = {"eventName": "INSERT", "dynamodb": {"NewImage": {"source": {"S": "website"}, "score": {"N": "7"}}}}
MODIFY = {"eventName": "MODIFY", "dynamodb": {"NewImage": {"source": {"S": "partner-x"}}}}


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ({"eventName": ["INSERT"]}, [True, False]),
        ({"eventName": ["INSERT", "MODIFY"]}, [True, True]),
        ({"eventName": [{"anything-but": ["INSERT"]}]}, [False, True]),
        ({"dynamodb": {"NewImage": {"source": {"S": [{"prefix": "partner-"}]}}}}, [False, True]),
        ({"dynamodb": {"NewImage": {"source": {"S": [{"suffix": "site"}]}}}}, [True, False]),
        ({"dynamodb": {"NewImage": {"score": {"N": [{"numeric": [">", 5, "<=", 7]}]}}}}, [True, False]),
        ({"dynamodb": {"NewImage": {"score": [{"exists": False}]}}}, [False, True]),
        ({"eventName": [{"equals-ignore-case": "insert"}]}, [True, False]),
        ({"eventName": [{"wildcard": "MOD*"}]}, [False, True]),
        ({"$or": [{"eventName": ["MODIFY"]}, {"dynamodb": {"NewImage": {"score": {"N": ["7"]}}}}]}, [True, True]),
    ],
)
def test_filter_patterns(pattern, matches):
    assert [filtering.passes(r, [pattern]) for r in (INSERT, MODIFY)] == matches


def test_no_patterns_pass_everything_and_any_pattern_may_match():
    assert filtering.passes(MODIFY, [])
    assert filtering.passes(MODIFY, [{"eventName": ["INSERT"]}, {"eventName": ["MODIFY"]}])


def test_sqs_body_is_matched_as_json_when_it_is_json():
    record = {"body": '{"kind": "order"}'}
    assert filtering.passes(filtering.sqs_filterable(record), [{"body": {"kind": ["order"]}}])
    assert not filtering.passes(filtering.sqs_filterable({"body": "plain"}), [{"body": {"kind": ["order"]}}])
    assert filtering.passes(filtering.sqs_filterable({"body": "plain"}), [{"body": ["plain"]}])


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, "text"])
def test_empty_partial_responses_are_full_success(response):
    assert judge_batch_response(response, {"1", "2"}).kind == "ok"


def test_reported_items_are_a_partial_failure():
    outcome = judge_batch_response({"batchItemFailures": [{"itemIdentifier": "2"}]}, {"1", "2"})
    assert outcome.kind == "partial" and outcome.failed_ids == ("2",)


@pytest.mark.parametrize(
    "failures",
    [[{"itemIdentifier": ""}], [{"itemIdentifier": None}], [{"id": "1"}], [{"itemIdentifier": "9"}], "1"],
)
def test_malformed_partial_responses_fail_the_whole_batch(failures):
    assert judge_batch_response({"batchItemFailures": failures}, {"1", "2"}).kind == "error"


def test_masking_hides_addresses_and_phone_numbers():
    text = mask_text("send to ada.lovelace@example.com or call +44 20 7946 0000")
    assert "ada.lovelace" not in text and "7946" not in text
    assert "a***@example.com" in text


def test_stream_record_shape_from_the_sdk_form():
    created = dt.datetime(2024, 5, 1, 12, 0, 30, 500000, tzinfo=dt.UTC)
    raw = {
        "eventID": "e1", "eventName": "INSERT", "eventVersion": "1.1", "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": created, "Keys": {"id": {"S": "1"}},
            "NewImage": {"id": {"S": "1"}, "blob": {"B": b"\x00\x01"}, "nested": {"M": {"b": {"BS": [b"\x02"]}}}},
            "SequenceNumber": "100", "SizeBytes": 20, "StreamViewType": "NEW_IMAGE",
        },
    }
    record = shapes.dynamodb_record(raw, "arn:stream")
    assert record["eventSourceARN"] == "arn:stream"
    assert record["dynamodb"]["ApproximateCreationDateTime"] == int(created.timestamp())
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    assert record["dynamodb"]["NewImage"]["nested"] == {"M": {"b": {"BS": ["Ag=="]}}}


def test_settings_resolve_on_failure_from_the_resources_template():
    settings = parse({"OnFailure": "LeadStreamDLQ", "MaximumRetryAttempts": 3,
                      "FunctionResponseTypes": ["ReportBatchItemFailures"]}, "local")
    assert settings.on_failure == "arn:aws:sqs:us-east-1:123456789012:leadflow-local-lead-stream-dlq"
    assert settings.report_batch_item_failures and settings.stream_retries() == 3
    assert parse({}, "local").stream_retries() == -1 and parse({}, "local").async_retries() == 2


def test_checkpoints_only_move_forward_and_keep_other_processes_positions(tmp_path):
    from devstack.events.checkpoints import CheckpointStore

    path = tmp_path / "checkpoints.json"
    first, second = CheckpointStore(path), CheckpointStore(path)
    first.save("handler-a|stream|shard", "200")
    first.save("handler-a|stream|shard", "150")  # an older position never wins
    second.save("handler-b|stream|shard", "300")
    reread = CheckpointStore(path)
    assert reread.get("handler-a|stream|shard") == "200"
    assert reread.get("handler-b|stream|shard") == "300"
