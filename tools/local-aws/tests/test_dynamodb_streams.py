"""DynamoDB stream records and their delivery to a function by an event source mapping
(stevedore_local/dynamodb_streams.py, stream_mappings.py): which writes make records, their
shape and order, filtering, batching, and that a write never waits for the function. Errors,
retries and the on-failure destination: test_dynamodb_stream_errors.py."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from conftest import REGION
from stream_fixtures import item, key, sks, streams  # noqa: F401  (fixture)


def delivered(streams, mapping, function):
    streams.drain(mapping)
    return [r for batch in streams.batches(function) for r in batch]


def test_records_are_shaped_as_documented_and_in_order(streams):
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn)
    ddb = streams.ddb
    ddb.put_item(TableName=table, Item=item("A", "REL#1", status="PENDING"))
    ddb.update_item(TableName=table, Key=key("A", "REL#1"), UpdateExpression="SET #s = :s",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": {"S": "IN_PROGRESS"}})
    ddb.put_item(TableName=table, Item=item("A", "REL#2", status="PENDING"))
    ddb.delete_item(TableName=table, Key=key("A", "REL#1"))
    records = delivered(streams, mapping, fn)

    assert [(r["eventName"], r["dynamodb"]["Keys"]["SK"]["S"]) for r in records] == [
        ("INSERT", "REL#1"), ("MODIFY", "REL#1"), ("INSERT", "REL#2"), ("REMOVE", "REL#1")]
    for r in records:
        assert set(r) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion",
                          "dynamodb", "eventSourceARN"}
        assert (r["eventVersion"], r["eventSource"], r["awsRegion"], r["eventSourceARN"]) == \
            ("1.1", "aws:dynamodb", REGION, arn)
        body = r["dynamodb"]
        assert isinstance(body["ApproximateCreationDateTime"], int)
        assert isinstance(body["SizeBytes"], int) and body["SizeBytes"] > 0
        assert body["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert body["Keys"] == {"PK": {"S": "A"}, "SK": body["Keys"]["SK"]}
        assert 21 <= len(body["SequenceNumber"]) <= 40 and body["SequenceNumber"].isdigit()
    insert, modify, _, remove = (r["dynamodb"] for r in records)
    assert "OldImage" not in insert and insert["NewImage"]["status"] == {"S": "PENDING"}
    assert modify["OldImage"]["status"] == {"S": "PENDING"}
    assert modify["NewImage"]["status"] == {"S": "IN_PROGRESS"}
    assert "NewImage" not in remove and remove["OldImage"]["status"] == {"S": "IN_PROGRESS"}
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert len({r["eventID"] for r in records}) == len(records)


@pytest.mark.parametrize("view, images", [("KEYS_ONLY", set()), ("NEW_IMAGE", {"NewImage"}),
                                          ("OLD_IMAGE", {"OldImage"})])
def test_the_view_type_chooses_the_images(streams, view, images):
    table, arn = streams.table(view)
    fn = streams.function()
    mapping = streams.create(fn, arn)
    streams.ddb.put_item(TableName=table, Item=item("A", "1", v="a"))
    streams.ddb.put_item(TableName=table, Item=item("A", "1", v="b"))
    [_, modify] = delivered(streams, mapping, fn)
    assert images == set(modify["dynamodb"]) & {"NewImage", "OldImage"}
    assert modify["dynamodb"]["StreamViewType"] == view


def test_an_update_that_creates_an_item_is_one_insert(streams):
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn)
    streams.ddb.update_item(TableName=table, Key=key("A", "1"), UpdateExpression="SET v = :v",
                            ExpressionAttributeValues={":v": {"S": "x"}})
    [record] = delivered(streams, mapping, fn)
    assert record["eventName"] == "INSERT" and "OldImage" not in record["dynamodb"]
    assert record["dynamodb"]["NewImage"] == item("A", "1", v="x")


def test_a_write_that_changes_nothing_makes_no_record(streams):
    """Streams.html: a PutItem or UpdateItem that does not change any data in an item writes
    no stream record (nor does deleting an item that is not there)."""
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn)
    ddb = streams.ddb
    ddb.put_item(TableName=table, Item=item("A", "1", v="x"))
    ddb.put_item(TableName=table, Item=item("A", "1", v="x"))
    ddb.update_item(TableName=table, Key=key("A", "1"), UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "x"}})
    ddb.delete_item(TableName=table, Key=key("A", "nothing"))
    ddb.update_item(TableName=table, Key=key("A", "1"), UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"S": "y"}})
    assert [r["eventName"] for r in delivered(streams, mapping, fn)] == ["INSERT", "MODIFY"]


def test_a_failed_conditional_write_makes_no_record(streams):
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn)
    ddb = streams.ddb
    ddb.put_item(TableName=table, Item=item("A", "1", v="x"))
    never = {"ConditionExpression": "attribute_not_exists(PK)"}
    for write in (lambda: ddb.put_item(TableName=table, Item=item("A", "1", v="y"), **never),
                  lambda: ddb.update_item(TableName=table, Key=key("A", "1"), **never,
                                          UpdateExpression="SET v = :v",
                                          ExpressionAttributeValues={":v": {"S": "y"}}),
                  lambda: ddb.delete_item(TableName=table, Key=key("A", "1"), **never)):
        with pytest.raises(ClientError, match="ConditionalCheckFailed"):
            write()
    ddb.put_item(TableName=table, Item=item("A", "2"))
    assert sks(delivered(streams, mapping, fn)) == ["1", "2"]


def test_a_transaction_makes_a_record_per_changed_item_and_a_cancelled_one_none(streams):
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn)
    ddb = streams.ddb
    ddb.put_item(TableName=table, Item=item("A", "update", v="old"))
    ddb.put_item(TableName=table, Item=item("A", "delete"))
    ddb.put_item(TableName=table, Item=item("A", "check"))
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": item("A", "put")}},
        {"Update": {"TableName": table, "Key": key("A", "update"), "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "new"}}}},
        {"Delete": {"TableName": table, "Key": key("A", "delete")}},
        {"ConditionCheck": {"TableName": table, "Key": key("A", "check"),
                            "ConditionExpression": "attribute_exists(PK)"}}])
    with pytest.raises(ClientError, match="TransactionCanceled"):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": item("A", "cancelled")}},
            {"Update": {"TableName": table, "Key": key("A", "update"), "UpdateExpression": "SET v = :v",
                        "ConditionExpression": "v = :never",
                        "ExpressionAttributeValues": {":v": {"S": "x"}, ":never": {"S": "no"}}}}])
    assert "Item" not in ddb.get_item(TableName=table, Key=key("A", "cancelled"))
    records = delivered(streams, mapping, fn)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["SK"]["S"]) for r in records[3:]] == [
        ("INSERT", "put"), ("MODIFY", "update"), ("REMOVE", "delete")]


def test_a_batch_write_makes_a_record_per_item(streams):
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn)
    streams.ddb.put_item(TableName=table, Item=item("A", "gone"))
    streams.ddb.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": item("A", "new")}},
        {"DeleteRequest": {"Key": key("A", "gone")}}]})
    records = delivered(streams, mapping, fn)
    assert sorted((r["eventName"], r["dynamodb"]["Keys"]["SK"]["S"]) for r in records[1:]) == [
        ("INSERT", "new"), ("REMOVE", "gone")]


def test_writes_never_wait_for_the_function(streams):
    """The function holds its first batch until the test has made every write: were a write
    waiting for the function, the handler would give up waiting and say so."""
    released = threading.Event()
    saw = []

    def handler(_payload, n):
        if n == 1:
            saw.append(released.wait(60))
        return 200, {}

    table, arn = streams.table()
    fn = streams.function(handler)
    mapping = streams.create(fn, arn)
    for i in range(5):
        streams.ddb.put_item(TableName=table, Item=item("A", str(i)))
    released.set()
    records = delivered(streams, mapping, fn)
    assert saw == [True]
    assert sks(records) == ["0", "1", "2", "3", "4"]  # every record, once, in order


def test_batches_hold_at_most_batch_size_records_in_order(streams):
    release = threading.Event()

    def handler(_payload, n):
        if n == 1:
            release.wait(60)  # the rest piles up behind the first batch
        return 200, {}

    table, arn = streams.table()
    fn = streams.function(handler)
    mapping = streams.create(fn, arn, BatchSize=3)
    for i in range(10):
        streams.ddb.put_item(TableName=table, Item=item("A", f"{i:02d}"))
    release.set()
    streams.drain(mapping)
    batches = streams.batches(fn)
    assert all(1 <= len(b) <= 3 for b in batches)
    assert [s for b in batches for s in sks(b)] == [f"{i:02d}" for i in range(10)]
    assert [len(b) for b in batches[1:]].count(3) >= 2  # the backlog went out in full batches


def test_the_batching_window_waits_for_a_full_batch(streams):
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn, BatchSize=2, MaximumBatchingWindowInSeconds=300)
    streams.ddb.put_item(TableName=table, Item=item("A", "1"))
    answer = streams.control.post("lambda/event-source-mappings/drain",
                                  {"UUID": mapping["UUID"], "timeout": 1})
    assert answer == {"drained": False, "pending": {mapping["UUID"]: 1}}
    assert streams.batches(fn) == []
    streams.ddb.put_item(TableName=table, Item=item("A", "2"))
    streams.drain(mapping)
    assert [sks(b) for b in streams.batches(fn)] == [["1", "2"]]


def test_filter_criteria_drop_records_no_filter_matches(streams):
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn, FilterCriteria={"Filters": [
        {"Pattern": '{"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "REL#"}]}}}}'},
        {"Pattern": '{"dynamodb": {"NewImage": {"status": {"S": ["FAILED"]}}}}'}]})
    ddb = streams.ddb
    ddb.put_item(TableName=table, Item=item("A", "HEAD"))
    ddb.put_item(TableName=table, Item=item("A", "REL#1"))
    ddb.put_item(TableName=table, Item=item("A", "CONFIG", status="FAILED"))
    ddb.put_item(TableName=table, Item=item("A", "DIGEST#x"))
    assert sks(delivered(streams, mapping, fn)) == ["REL#1", "CONFIG"]
    view = streams.view(mapping)
    assert view["counts"]["filtered_out"] == 2 and view["position"] == view["end"] == 4


def test_starting_position_latest_skips_what_was_written_before(streams):
    table, arn = streams.table()
    streams.ddb.put_item(TableName=table, Item=item("A", "before"))
    latest, horizon = streams.function(), streams.function()
    latest_mapping = streams.create(latest, arn, StartingPosition="LATEST")
    horizon_mapping = streams.create(horizon, arn)
    streams.ddb.put_item(TableName=table, Item=item("A", "after"))
    assert sks(delivered(streams, latest_mapping, latest)) == ["after"]
    assert sks(delivered(streams, horizon_mapping, horizon)) == ["before", "after"]


def test_a_disabled_mapping_sends_nothing(streams):
    table, arn = streams.table()
    fn = streams.function()
    mapping = streams.create(fn, arn, Enabled=False)
    streams.ddb.put_item(TableName=table, Item=item("A", "1"))
    enabled = streams.create(streams.function(), arn)
    streams.drain(enabled)
    assert streams.view(mapping)["State"] == "Disabled" and streams.batches(fn) == []
