"""A DynamoDB stream event source mapping when the function fails (stream_mappings.py):
retries, bisection, partial batch responses, the record age limit, and what reaches the
on-failure destination: the invocation record of
https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html."""

from __future__ import annotations

import json

from stream_fixtures import item, sks, streams  # noqa: F401  (fixture)
from test_event_shapes import shape

# The page's example invocation record (values are the page's; only keys and types count).
DOCUMENTED_FAILURE_RECORD = {
    "requestContext": {"requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
                       "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
                       "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    "version": "1.0",
    "timestamp": "2019-11-14T00:38:06.021Z",
    "DDBStreamBatchInfo": {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": "800000000003126276362",
        "endSequenceNumber": "800000000003126276362",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:38:04Z",
        "batchSize": 1,
        "streamArn": "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"}}


def failing_for(*bad: str):
    """A handler that fails every batch holding one of these sort keys."""
    def handler(payload, _n):
        if set(sks(payload["Records"])) & set(bad):
            return 500, {"errorType": "Boom", "errorMessage": "bad record"}
        return 200, {}
    return handler


def write_at_once(streams, table, *sort_keys):
    """One transaction: its records reach the stream together, so they make one batch."""
    streams.ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": item("A", sk)}} for sk in sort_keys])


def test_an_error_retries_the_batch_then_sends_its_metadata_to_the_destination(streams):
    table, arn = streams.table()
    url, queue_arn = streams.queue()
    fn = streams.function(failing_for("1", "2"))
    mapping = streams.create(fn, arn, MaximumRetryAttempts=2,
                             DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    write_at_once(streams, table, "1", "2")
    streams.drain(mapping)
    streams.ddb.put_item(TableName=table, Item=item("A", "3"))  # the stream goes on
    streams.drain(mapping)

    batches = streams.batches(fn)
    assert [sks(b) for b in batches] == [["1", "2"]] * 3 + [["3"]]  # 1 try + 2 retries, then on
    [failure] = streams.messages(url)
    assert shape(failure) == shape(DOCUMENTED_FAILURE_RECORD)
    info, first = failure["DDBStreamBatchInfo"], batches[0]
    assert info["startSequenceNumber"] == first[0]["dynamodb"]["SequenceNumber"]
    assert info["endSequenceNumber"] == first[1]["dynamodb"]["SequenceNumber"]
    assert (info["batchSize"], info["streamArn"]) == (2, arn)
    assert info["shardId"].startswith("shardId-")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"].endswith(f":function:{fn}")
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert streams.view(mapping)["discarded"] == [failure]


def test_bisection_isolates_the_bad_record_without_using_retries(streams):
    table, arn = streams.table()
    url, queue_arn = streams.queue()
    fn = streams.function(failing_for("b"))
    mapping = streams.create(fn, arn, MaximumRetryAttempts=1, BisectBatchOnFunctionError=True,
                             DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    write_at_once(streams, table, "a", "b", "c", "d")
    streams.drain(mapping)
    assert [sks(b) for b in streams.batches(fn)] == [
        ["a", "b", "c", "d"], ["a", "b"], ["a"], ["b"], ["b"], ["c", "d"]]
    [failure] = streams.messages(url)
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]


def test_a_partial_batch_response_retries_from_the_lowest_failed_record(streams):
    def handler(payload, n):
        seqs = [r["dynamodb"]["SequenceNumber"] for r in payload["Records"]]
        if n == 1:  # two failures reported, not in order: the lowest one counts
            return 200, {"batchItemFailures": [{"itemIdentifier": seqs[3]},
                                               {"itemIdentifier": seqs[1]}]}
        return 200, {"batchItemFailures": []}

    table, arn = streams.table()
    fn = streams.function(handler)
    mapping = streams.create(fn, arn, FunctionResponseTypes=["ReportBatchItemFailures"])
    write_at_once(streams, table, "a", "b", "c", "d")
    streams.drain(mapping)
    assert [sks(b) for b in streams.batches(fn)] == [["a", "b", "c", "d"], ["b", "c", "d"]]


def test_a_partial_batch_response_is_ignored_unless_the_mapping_asks_for_it(streams):
    table, arn = streams.table()
    fn = streams.function(lambda payload, _n: (200, {"batchItemFailures": [
        {"itemIdentifier": payload["Records"][0]["dynamodb"]["SequenceNumber"]}]}))
    mapping = streams.create(fn, arn)
    write_at_once(streams, table, "a", "b")
    streams.drain(mapping)
    assert [sks(b) for b in streams.batches(fn)] == [["a", "b"]]


def test_an_unknown_or_empty_item_identifier_fails_the_whole_batch(streams):
    table, arn = streams.table()
    url, queue_arn = streams.queue()
    answers = iter([{"batchItemFailures": [{"itemIdentifier": ""}]},
                    {"batchItemFailures": [{"itemIdentifier": "1"}]},
                    {"batchItemFailures": [{"sequenceNumber": "x"}]}])
    fn = streams.function(lambda _p, _n: (200, next(answers)))
    mapping = streams.create(fn, arn, FunctionResponseTypes=["ReportBatchItemFailures"],
                             MaximumRetryAttempts=2,
                             DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    write_at_once(streams, table, "a", "b")
    streams.drain(mapping)
    assert [sks(b) for b in streams.batches(fn)] == [["a", "b"]] * 3
    [failure] = streams.messages(url)
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
    assert "functionError" not in failure["responseContext"]  # the function itself succeeded


def test_records_older_than_the_maximum_age_are_given_up(streams, monkeypatch):
    from stevedore_local import dynamodb_streams

    later = [0.0]
    real_now = dynamodb_streams.now
    monkeypatch.setattr(dynamodb_streams, "now", lambda: real_now() + later[0])

    def handler(_payload, _n):
        later[0] = 120.0  # by the retry, the records are two minutes old
        return 500, {"errorType": "Boom", "errorMessage": "no"}

    table, arn = streams.table()
    url, queue_arn = streams.queue()
    fn = streams.function(handler)
    mapping = streams.create(fn, arn, MaximumRecordAgeInSeconds=60,
                             DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    write_at_once(streams, table, "a", "b")
    streams.drain(mapping)
    assert [sks(b) for b in streams.batches(fn)] == [["a", "b"]]  # never retried
    [failure] = streams.messages(url)
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2


def test_the_history_shows_each_invocation(streams):
    table, arn = streams.table()
    fn = streams.function(failing_for("x"))
    mapping = streams.create(fn, arn, MaximumRetryAttempts=0)
    for sk in ("x", "y"):
        streams.ddb.put_item(TableName=table, Item=item("A", sk))
        streams.drain(mapping)
    view = streams.view(mapping)
    assert [h["outcome"] for h in view["invocations"]] == ["error", "ok"]
    assert json.loads(view["invocations"][0]["response"])["errorType"] == "Boom"
    assert view["counts"]["discarded_records"] == 1
