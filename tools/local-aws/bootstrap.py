"""Create the local Stevedore stack from template.yaml itself (no hand-kept copy).

The SAM template is the one source of truth for what is deployed, so the local stack is
derived from it: tables (and their streams), state machines (with their DefinitionSubstitutions
resolved), EventBridge rules and the event source mappings of DynamoDB streams are created in
the emulator; functions are not created (the emulator
forwards Lambda invokes to `cargo lambda watch` by binary name), but their names, ARNs and
environment are computed so the rest of the template can refer to them.

Anything the bootstrap cannot resolve fails loudly: a template that names a missing
resource must not become a silently broken local stack.

    python tools/local-aws/bootstrap.py --endpoint http://127.0.0.1:5000   # prints the function env
    python tools/local-aws/bootstrap.py --check                             # substitutions only, no emulator
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cfn_template import ACCOUNT_ID, PLACEHOLDER, BootstrapError, Resolver, load_template  # noqa: E402
import iam_roles  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK = "stevedore"
# The role EventBridge rule targets name (rules' own roles are not emulated).
DUMMY_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/stevedore-local"

# Resource types not created locally: logs and metrics are not emulated; IAM roles are not
# created but handed to the emulator's IAM check (iam_roles.py), which enforces them.
SKIPPED_TYPES = {
    "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::Lambda::Permission",
    "AWS::SQS::QueuePolicy",
}
FUNCTION_EVENT_RULE_TYPES = {"EventBridgeRule", "CloudWatchEvent", "Schedule"}
# SAM function events that become an AWS::Lambda::EventSourceMapping, emulated for DynamoDB
# streams (stevedore_local/stream_mappings.py).
FUNCTION_EVENT_STREAM_TYPES = {"DynamoDB"}


# ---------------------------------------------------------------- pure derivations

def resources_of(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r.get("Type") == rtype}


def render_definition(template: dict[str, Any], logical_id: str, resolver: Resolver,
                      base_dir: Path) -> str:
    """A state machine's definition with every `${Name}` replaced; fails naming what is wrong."""
    props = template["Resources"][logical_id].get("Properties") or {}
    if "Definition" in props:
        text = json.dumps(props["Definition"], indent=2)
    elif isinstance(props.get("DefinitionUri"), str):
        path = base_dir / props["DefinitionUri"]
        if not path.is_file():
            raise BootstrapError(f"state machine {logical_id}: DefinitionUri {path} does not exist")
        text = path.read_text(encoding="utf-8")
    else:
        raise BootstrapError(f"state machine {logical_id}: needs Definition or a local DefinitionUri")

    values: dict[str, str] = {}
    for key, expr in (props.get("DefinitionSubstitutions") or {}).items():
        try:
            values[key] = str(resolver.resolve(expr))
        except BootstrapError as err:
            raise BootstrapError(f"state machine {logical_id}: substitution {key}: {err}") from None

    def substitute(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    rendered = PLACEHOLDER.sub(substitute, text)
    left = sorted(set(PLACEHOLDER.findall(rendered)))
    if left:
        raise BootstrapError(
            f"state machine {logical_id}: no DefinitionSubstitutions value for "
            + ", ".join("${" + name + "}" for name in left)
        )
    try:
        json.loads(rendered)
    except ValueError as err:
        raise BootstrapError(f"state machine {logical_id}: definition is not valid JSON after substitution: {err}") from None
    return rendered


def function_environment(template: dict[str, Any], resolver: Resolver) -> dict[str, str]:
    """Every function's environment (Globals merged with its own), as one dict for one
    `cargo lambda watch` that serves them all; a variable two functions set differently fails."""
    globals_vars = (((template.get("Globals") or {}).get("Function") or {})
                    .get("Environment") or {}).get("Variables") or {}
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for lid, res in resources_of(template, "AWS::Serverless::Function").items():
        own = (((res.get("Properties") or {}).get("Environment") or {}).get("Variables")) or {}
        for key, raw in {**globals_vars, **own}.items():
            value = resolver.resolve(raw)
            value = "" if value is None else str(value)
            if key in merged and merged[key] != value:
                raise BootstrapError(
                    f"environment variable {key} is {merged[key]!r} for {owner[key]} but {value!r} "
                    f"for {lid}; one local `cargo lambda watch` cannot give both"
                )
            merged[key], owner[key] = value, owner.get(key, lid)
    return merged


def check_substitutions(template_path: Path = TEMPLATE, stack: str = DEFAULT_STACK,
                        region: str = DEFAULT_REGION) -> dict[str, str]:
    """Render every state machine's definition (no emulator); returns logical id -> definition."""
    template = load_template(template_path)
    resolver = Resolver(template, stack, region)
    return {
        lid: render_definition(template, lid, resolver, template_path.parent)
        for lid in resources_of(template, "AWS::Serverless::StateMachine")
    }


def unused_definition_files(template_path: Path = TEMPLATE) -> list[Path]:
    """ASL files beside the template that no state machine's DefinitionUri names: a
    definition that would be deployed nowhere (and so never checked) is a mistake."""
    template = load_template(template_path)
    base = template_path.parent
    used = {(base / r["Properties"]["DefinitionUri"]).resolve()
            for r in resources_of(template, "AWS::Serverless::StateMachine").values()
            if isinstance((r.get("Properties") or {}).get("DefinitionUri"), str)}
    return sorted(p for p in (base / "statemachines").glob("*.json") if p.resolve() not in used)


# ---------------------------------------------------------------- creating the stack

@dataclass
class LocalStackResources:
    stack_name: str
    region: str
    tables: dict[str, str] = field(default_factory=dict)           # logical id -> table name
    state_machines: dict[str, str] = field(default_factory=dict)   # logical id -> ARN
    functions: dict[str, str] = field(default_factory=dict)        # logical id -> binary name
    rules: dict[str, str] = field(default_factory=dict)            # rule name -> target ARN(s)
    queues: dict[str, str] = field(default_factory=dict)           # logical id -> queue name
    topics: dict[str, str] = field(default_factory=dict)           # logical id -> topic ARN
    dashboards: dict[str, str] = field(default_factory=dict)       # logical id -> dashboard name
    event_source_mappings: dict[str, str] = field(default_factory=dict)  # logical id -> UUID
    skipped: dict[str, str] = field(default_factory=dict)          # logical id -> type
    function_env: dict[str, str] = field(default_factory=dict)
    roles: dict[str, Any] = field(default_factory=dict)            # see iam_roles.roles
    outputs: dict[str, str] = field(default_factory=dict)          # template Outputs, resolved


def _create_table(ddb: Any, name: str, props: dict[str, Any]) -> str | None:
    """Create the table; returns its stream's ARN when StreamSpecification gives it one."""
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",  # on-demand, whatever the template says about capacity
    }
    stream = props.get("StreamSpecification") or {}
    if stream.get("StreamViewType"):
        args["StreamSpecification"] = {"StreamEnabled": True,
                                       "StreamViewType": stream["StreamViewType"]}
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            args[key] = [{k: v for k, v in idx.items() if k != "ProvisionedThroughput"}
                         for idx in props[key]]
    ddb.create_table(**args)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"], "Enabled": True})
    return ddb.describe_table(TableName=name)["Table"].get("LatestStreamArn") if stream else None


def _put_rule(events: Any, name: str, pattern: Any, targets: list[dict[str, Any]],
              bus: str = "default", state: str = "ENABLED", schedule: str | None = None) -> None:
    args: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": state}
    if pattern is not None:
        args["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    if schedule:
        args["ScheduleExpression"] = schedule
    events.put_rule(**args)
    if targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)


def _put_bus_policy(events: Any, props: dict[str, Any]) -> None:
    """AWS::Events::EventBusPolicy: one statement on the bus's resource-based policy
    (PutPermission with the whole statement as `Policy`,
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html)."""
    statement = {**props["Statement"], "Sid": props["StatementId"]}
    events.put_permission(EventBusName=props.get("EventBusName", "default"),
                          Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def _control(endpoint_url: str, path: str, body: dict[str, Any]) -> Any:
    """Tell the emulator about a template setting it has to act out itself; what it refuses
    (as AWS would refuse it) fails the bootstrap with its reason."""
    request = urllib.request.Request(f"{endpoint_url}/_stevedore/{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        try:
            reason = json.loads(err.read()).get("error")
        except ValueError:
            reason = None
        raise BootstrapError(f"the emulator refused {path}: {reason or err}") from None


def bootstrap(session: Any, endpoint_url: str, template_path: Path = TEMPLATE,
              stack: str = DEFAULT_STACK, region: str = DEFAULT_REGION,
              parameters: dict[str, Any] | None = None) -> LocalStackResources:
    """Create the template's local resources in the emulator at `endpoint_url`, and hand the
    emulator every function's and state machine's role (IAM is enforced from then on).
    `parameters` overrides template parameters; the others take their defaults."""
    template = load_template(template_path)
    resolver = Resolver(template, stack, region, parameters)
    unknown = sorted(set(parameters or {}) - set(template.get("Parameters") or {}))
    if unknown:
        raise BootstrapError(f"parameters {unknown} are not parameters of {template_path.name}")
    out = LocalStackResources(stack_name=stack, region=region)
    client = lambda name: session.client(name, endpoint_url=endpoint_url, region_name=region)  # noqa: E731
    ddb, sfn, events = client("dynamodb"), client("stepfunctions"), client("events")

    # Validate everything that can be validated before creating anything.
    definitions = check_substitutions(template_path, stack, region)
    out.function_env = function_environment(template, resolver)
    out.roles = iam_roles.roles(template_path, stack, region, parameters)

    # Event source mappings are created last, as CloudFormation creates them after the
    # stream, the function and its role they refer to: (name, unresolved properties).
    mappings: list[tuple[str, dict[str, Any]]] = []
    for lid, res in template["Resources"].items():
        # Only what is created gets resolved: SAM-only properties (Policies, Logging) may
        # refer to things with no local meaning.
        rtype, raw = res.get("Type"), res.get("Properties") or {}
        if "Condition" in res and not resolver.condition(res["Condition"]):
            out.skipped[lid] = rtype  # CloudFormation creates no resource whose condition is false
            continue
        attrs = resolver.attributes(lid)
        if rtype == "AWS::DynamoDB::Table":
            stream_arn = _create_table(ddb, attrs["Ref"], resolver.resolve(raw))
            if stream_arn:
                resolver.stream_arns[lid] = stream_arn
            out.tables[lid] = attrs["Ref"]
        elif rtype == "AWS::Lambda::EventSourceMapping":
            mappings.append((lid, raw))
        elif rtype == "AWS::SQS::Queue":
            client("sqs").create_queue(QueueName=attrs["QueueName"])
            out.queues[lid] = attrs["QueueName"]
        elif rtype == "AWS::SNS::Topic":
            client("sns").create_topic(Name=attrs["TopicName"])
            out.topics[lid] = attrs["TopicArn"]
        elif rtype == "AWS::Serverless::Function":
            out.functions[lid] = attrs["Ref"]
            if "ReservedConcurrentExecutions" in raw:
                _control(endpoint_url, "lambda/reserved-concurrency", {
                    "function": attrs["Ref"],
                    "reserved": int(resolver.resolve(raw["ReservedConcurrentExecutions"]))})
            if "EventInvokeConfig" in raw:
                invoke_config = resolver.resolve(raw["EventInvokeConfig"])
                on_failure = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {})
                _control(endpoint_url, "lambda/event-invoke-config", {
                    "function": attrs["Ref"],
                    "retries": int(invoke_config.get("MaximumRetryAttempts", 2)),
                    "on_failure": on_failure.get("Destination")})
            _function_event_rules(events, resolver, lid, res, attrs["Arn"], out)
            mappings += _function_stream_events(lid, res)
        elif rtype == "AWS::Serverless::StateMachine":
            kwargs: dict[str, Any] = {"name": attrs["Name"], "definition": definitions[lid],
                                      "roleArn": out.roles["state_machines"][attrs["Arn"]]["role_arn"]}
            if raw.get("Type"):
                kwargs["type"] = resolver.resolve(raw["Type"])
            sfn.create_state_machine(**kwargs)
            out.state_machines[lid] = attrs["Arn"]
            _function_event_rules(events, resolver, lid, res, attrs["Arn"], out)
        elif rtype == "AWS::Events::Rule":
            props = resolver.resolve(raw)
            targets = [{k: v for k, v in t.items() if k in
                        ("Id", "Arn", "Input", "InputPath", "InputTransformer", "RoleArn")}
                       for t in props.get("Targets") or []]
            _put_rule(events, attrs["Ref"], props.get("EventPattern"), targets,
                      props.get("EventBusName", "default"), props.get("State", "ENABLED"),
                      props.get("ScheduleExpression"))
            out.rules[attrs["Ref"]] = ",".join(t["Arn"] for t in targets)
        elif rtype == "AWS::CloudWatch::Dashboard":
            props = resolver.resolve(raw)
            _put_dashboard(client("cloudwatch"), lid, attrs["Ref"], props.get("DashboardBody"))
            out.dashboards[lid] = attrs["Ref"]
        elif rtype == "AWS::Events::EventBusPolicy":
            _put_bus_policy(events, resolver.resolve(raw))
        elif rtype in SKIPPED_TYPES:
            out.skipped[lid] = rtype
        else:
            raise BootstrapError(f"resource {lid}: type {rtype} has no local counterpart yet; "
                                 "teach tools/local-aws/bootstrap.py about it")
    _control(endpoint_url, "iam/roles", out.roles)
    # With the roles loaded: Lambda checks that the function's role can read the stream.
    for name, raw in mappings:
        created = _control(endpoint_url, "lambda/event-source-mappings", resolver.resolve(raw))
        out.event_source_mappings[name] = created["UUID"]
    out.outputs = _register_stack(client("cloudformation"), template, resolver, stack)
    return out


def stack_outputs(template: dict[str, Any], resolver: Resolver) -> dict[str, str]:
    """template.yaml's `Outputs`, resolved (those whose `Condition` is false left out)."""
    outputs: dict[str, str] = {}
    for key, output in (template.get("Outputs") or {}).items():
        if "Condition" in output and not resolver.condition(output["Condition"]):
            continue
        try:
            outputs[key] = str(resolver.resolve(output["Value"]))
        except BootstrapError as err:
            raise BootstrapError(f"output {key}: {err}") from None
    return outputs


def _register_stack(cfn: Any, template: dict[str, Any], resolver: Resolver,
                    stack: str) -> dict[str, str]:
    """`stevedore --stack NAME` reads the table and state machine ARNs from the stack's outputs
    (DescribeStacks), but the local stack is built above, not by CloudFormation. So register a
    stack of that name whose Outputs are template.yaml's own, resolved to literal values, beside
    one resource that creates nothing (`AWS::CloudFormation::WaitConditionHandle` has no
    properties: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-waitconditionhandle.html;
    moto keeps it as a null model)."""
    outputs = stack_outputs(template, resolver)
    body = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Outputs of the local Stevedore stack {stack} (template.yaml, resolved)",
        "Resources": {"LocalStack": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(body))
    return outputs


def _function_stream_events(lid: str, res: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """SAM `Events` of type DynamoDB, as the AWS::Lambda::EventSourceMapping SAM makes of
    them (`Stream` is the EventSourceArn; OnFailure `Type` only tells SAM which policy to add):
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-dynamodb.html"""
    out = []
    for event_name, event in ((res.get("Properties") or {}).get("Events") or {}).items():
        if event.get("Type") not in FUNCTION_EVENT_STREAM_TYPES:
            continue
        props = dict(event.get("Properties") or {})
        props["EventSourceArn"] = props.pop("Stream", None)
        props["FunctionName"] = {"Ref": lid}
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure"))
        if isinstance(on_failure, dict) and "Type" in on_failure:
            props["DestinationConfig"] = {"OnFailure": {k: v for k, v in on_failure.items() if k != "Type"}}
        out.append((f"{lid}{event_name}", props))
    return out


def _put_dashboard(cloudwatch: Any, lid: str, name: str, body: Any) -> None:
    """A dashboard, its body checked as PutDashboard does: a JSON object with a `widgets`
    array (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html;
    an invalid body fails with InvalidParameterInput:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html)."""
    try:
        parsed = json.loads(body) if isinstance(body, str) else None
    except ValueError as err:
        raise BootstrapError(f"dashboard {lid}: DashboardBody is not JSON: {err}") from err
    if not isinstance(parsed, dict) or not isinstance(parsed.get("widgets"), list):
        raise BootstrapError(f"dashboard {lid}: DashboardBody needs a JSON object with a widgets array")
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=body)


def _function_event_rules(events: Any, resolver: Resolver, lid: str, res: dict[str, Any],
                          target_arn: str, out: LocalStackResources) -> None:
    """SAM `Events` of type EventBridgeRule/CloudWatchEvent become a rule on the bus."""
    for event_name, event in ((res.get("Properties") or {}).get("Events") or {}).items():
        if event.get("Type") in FUNCTION_EVENT_STREAM_TYPES:
            continue  # an event source mapping (_function_stream_events)
        if event.get("Type") not in FUNCTION_EVENT_RULE_TYPES:
            print(f"bootstrap: {lid}.{event_name}: event type {event.get('Type')} not emulated",
                  file=sys.stderr)
            continue
        props = resolver.resolve(event.get("Properties") or {})
        name = props.get("RuleName") or f"{resolver.stack}-{lid}-{event_name}"[:64]
        target: dict[str, Any] = {"Id": f"{lid}{event_name}"[:64], "Arn": target_arn}
        for key in ("Input", "InputPath", "RetryPolicy", "DeadLetterConfig"):
            if key in props:
                target[key] = props[key]
        if res.get("Type") == "AWS::Serverless::StateMachine":
            target["RoleArn"] = DUMMY_ROLE_ARN
        # A schedule is stored, never fired, locally: tests invoke its target themselves.
        _put_rule(events, name, props.get("Pattern"), [target],
                  props.get("EventBusName", "default"), props.get("State", "ENABLED"),
                  props.get("Schedule"))
        out.rules[name] = target_arn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", help="emulator URL; omit with --check")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--stack", default=DEFAULT_STACK)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--check", action="store_true", help="only check the state machines' substitutions")
    args = parser.parse_args(argv)
    try:
        if args.check or not args.endpoint:
            for lid in check_substitutions(args.template, args.stack, args.region):
                print(f"{lid}: every substitution resolved")
            return 0
        import boto3

        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name=args.region)
        res = bootstrap(session, args.endpoint, args.template, args.stack, args.region)
    except BootstrapError as err:
        print(f"bootstrap: {err}", file=sys.stderr)
        return 1
    print(json.dumps(res.function_env, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
