"""What the cost benchmark (tools/bench/cost.py) reads from the emulator: each Lambda invoke
the bridge forwarded, with its duration and status, and each DynamoDB request's parameters
in the request audit."""

from __future__ import annotations

import json
import time
import uuid

from conftest import REGION


def test_the_bridge_records_each_invoke_with_its_duration_and_status(aws, control, fake_lambda):
    name = f"slow-{uuid.uuid4().hex[:6]}"

    def slow(_payload, n):
        time.sleep(0.05)
        return (200, {"n": n}) if n == 1 else (500, {"errorType": "Boom", "errorMessage": "no"})

    fake_lambda.handlers[name] = slow
    control.post("lambda/invocations/clear", {})
    lam = aws("lambda")
    for _ in range(2):
        lam.invoke(FunctionName=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
                   Payload=json.dumps({}).encode())

    records = control.get(f"lambda/invocations?function={name}")
    assert [r["status"] for r in records] == [200, 500]
    assert all(r["duration_ms"] >= 50 for r in records), records
    assert all(r["function"] == name for r in records)
    control.post("lambda/invocations/clear", {})
    assert control.get(f"lambda/invocations?function={name}") == []


def test_the_audit_keeps_dynamodb_request_parameters(aws, control):
    table = f"bench-{uuid.uuid4().hex[:6]}"
    ddb = aws("dynamodb")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}])
    ddb.put_item(TableName=table, Item={"PK": {"S": "a"}, "n": {"N": "1"}})
    ddb.get_item(TableName=table, Key={"PK": {"S": "a"}}, ConsistentRead=True)

    recorded = [r for r in control.get("requests?service=dynamodb")
                if (r.get("params") or {}).get("TableName") == table]
    by_op = {r["operation"]: r["params"] for r in recorded}
    assert by_op["PutItem"]["Item"] == {"PK": {"S": "a"}, "n": {"N": "1"}}
    assert by_op["GetItem"] == {"TableName": table, "Key": {"PK": {"S": "a"}}, "ConsistentRead": True}
    aws("ecs").list_clusters()  # other services' parameters are not kept
    others = control.get("requests?service=ecs&operation=ListClusters")
    assert others and all("params" not in r for r in others)
