"""The IAM evaluator (stevedore_local/iam_policy.py) and the request -> authorization mapping
(iam_resources.py), without an emulator."""

from __future__ import annotations

from stevedore_local.iam_policy import UNKNOWN, RequestContext, arn_like, evaluate
from stevedore_local.iam_resources import Where, authorizations

ACCOUNT = "123456789012"
WHERE = Where("aws", "us-east-1", ACCOUNT)
CLUSTER = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod"


def allow(action, resource, condition=None):
    stmt = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        stmt["Condition"] = condition
    return stmt


def test_allow_needs_action_and_resource():
    stmts = [allow("ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/web")]
    assert evaluate(stmts, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/web").allowed
    assert not evaluate(stmts, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/api").allowed
    assert not evaluate(stmts, "ecs:DescribeServices", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/web").allowed


def test_nothing_allows_means_denied():
    decision = evaluate([], "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/t")
    assert not decision.allowed and decision.reason.startswith("no identity-based policy")


def test_action_wildcards_ignore_case_resource_wildcards_do_not():
    stmts = [allow("ECS:Describe*", "arn:aws:ecs:*:*:task/*")]
    assert evaluate(stmts, "ecs:DescribeTasks", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/prod/abc").allowed
    assert not evaluate(stmts, "ecs:StopTask", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/prod/abc").allowed
    assert not evaluate(stmts, "ecs:DescribeTasks", f"arn:aws:ecs:us-east-1:{ACCOUNT}:TASK/prod/abc").allowed
    single = [allow("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:re?der")]
    assert evaluate(single, "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:render").allowed
    assert not evaluate(single, "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:rennder").allowed


def test_star_resource_only_matches_actions_without_resource_types():
    # SendTaskSuccess has no resource type: the request is authorized on "*", which a policy
    # naming a state machine does not match.
    scoped = [allow("states:SendTaskSuccess", f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:*")]
    assert not evaluate(scoped, "states:SendTaskSuccess", "*").allowed
    assert evaluate([allow("states:SendTaskSuccess", "*")], "states:SendTaskSuccess", "*").allowed


def test_explicit_deny_wins():
    stmts = [allow("ecs:*", "*"),
             {"Effect": "Deny", "Action": "ecs:UpdateService", "Resource": f"{CLUSTER.replace('cluster', 'service')}/*"}]
    decision = evaluate(stmts, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/web")
    assert not decision.allowed and "explicitly denied" in decision.reason
    assert evaluate(stmts, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/dev/web").allowed


def test_not_resource_and_not_action():
    stmts = [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"},
             {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:sqs:*:*:q"}]
    assert evaluate(stmts, "s3:GetObject", "arn:aws:s3:::public/a").allowed
    assert not evaluate(stmts, "s3:GetObject", "arn:aws:s3:::secret/a").allowed
    assert evaluate(stmts, "sqs:SendMessage", "arn:aws:sqs:*:*:q").allowed
    assert not evaluate(stmts, "iam:PassRole", "arn:aws:sqs:*:*:q").allowed


def ctx(values, known=()):
    return RequestContext(values={k.lower(): v for k, v in values.items()},
                          known={k.lower() for k in known} | {k.lower() for k in values})


def test_string_equals_condition():
    stmts = [allow("iam:PassRole", "*", {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})]
    role = f"arn:aws:iam::{ACCOUNT}:role/app"
    assert evaluate(stmts, "iam:PassRole", role, ctx({"iam:PassedToService": "ecs-tasks.amazonaws.com"})).allowed
    assert not evaluate(stmts, "iam:PassRole", role, ctx({"iam:PassedToService": "ecs.amazonaws.com"})).allowed
    # A known key missing from the request: the condition is false.
    assert not evaluate(stmts, "iam:PassRole", role, ctx({}, ["iam:PassedToService"])).allowed


def test_string_like_and_negated_operators():
    like = [allow("ecs:TagResource", "*", {"StringLike": {"ecs:CreateAction": "Register*"}})]
    assert evaluate(like, "ecs:TagResource", "x", ctx({"ecs:CreateAction": "RegisterTaskDefinition"})).allowed
    assert not evaluate(like, "ecs:TagResource", "x", ctx({"ecs:CreateAction": "RunTask"})).allowed
    negated = [allow("ecs:TagResource", "*", {"StringNotEquals": {"ecs:CreateAction": "RunTask"}})]
    assert evaluate(negated, "ecs:TagResource", "x", ctx({"ecs:CreateAction": "RegisterTaskDefinition"})).allowed
    # Negated operator, key absent from the request: true.
    assert evaluate(negated, "ecs:TagResource", "x", ctx({}, ["ecs:CreateAction"])).allowed
    if_exists = [allow("ecs:TagResource", "*", {"StringEqualsIfExists": {"ecs:CreateAction": "RunTask"}})]
    assert evaluate(if_exists, "ecs:TagResource", "x", ctx({}, ["ecs:CreateAction"])).allowed


def test_arn_like_condition_compares_each_part():
    stmts = [allow("ecs:UpdateService", "*", {"ArnLike": {"ecs:cluster": [
        "arn:aws:ecs:us-east-1:*:cluster/prod-*", "arn:aws:ecs:eu-west-1:*:cluster/*"]}})]
    svc = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod-a/web"
    assert evaluate(stmts, "ecs:UpdateService", svc,
                    ctx({"ecs:cluster": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod-a"})).allowed
    assert not evaluate(stmts, "ecs:UpdateService", svc,
                        ctx({"ecs:cluster": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/dev"})).allowed
    assert arn_like("arn:aws:ecs:*:*:cluster/*", "arn:aws:ecs:us-east-1:1:cluster/x")
    # "*" in the region part does not swallow the next parts.
    assert not arn_like("arn:aws:ecs:*:cluster/*", "arn:aws:ecs:us-east-1:1:cluster/x")


def test_conditions_are_anded_across_keys_values_ored():
    stmts = [allow("ecs:TagResource", "*", {
        "StringEquals": {"ecs:CreateAction": ["RegisterTaskDefinition", "RunTask"]},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["stevedore:release"]}})]
    good = ctx({"ecs:CreateAction": "RunTask", "aws:TagKeys": ["stevedore:release"]})
    assert evaluate(stmts, "ecs:TagResource", "x", good).allowed
    bad = ctx({"ecs:CreateAction": "RunTask", "aws:TagKeys": ["stevedore:release", "owner"]})
    assert not evaluate(stmts, "ecs:TagResource", "x", bad).allowed


def test_unevaluable_key_is_reported_not_guessed():
    stmts = [allow("ecs:UpdateService", "*", {"StringEquals": {"aws:ResourceTag/team": "pay"}})]
    decision = evaluate(stmts, "ecs:UpdateService", "x", ctx({"ecs:cluster": CLUSTER}))
    assert decision.unevaluated == ["aws:ResourceTag/team"]
    # An explicit UNKNOWN value is unevaluable too.
    decision = evaluate(stmts, "ecs:UpdateService", "x", ctx({"aws:ResourceTag/team": UNKNOWN}))
    assert decision.unevaluated == ["aws:ResourceTag/team"]


# ------------------------------------------------------------------ request -> authorizations
def test_ecs_update_service_resource_condition_and_pass_role():
    auths = authorizations("ecs", "UpdateService", {
        "cluster": "prod", "service": "web", "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:3",
        "deploymentConfiguration": {"lifecycleHooks": [{"roleArn": f"arn:aws:iam::{ACCOUNT}:role/hook"}]}},
        WHERE)
    assert [(a.action, a.resource) for a in auths] == [
        ("ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/web"),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/hook")]
    assert auths[0].context.lookup("ecs:cluster") == (True, CLUSTER)
    assert auths[1].context.lookup("iam:PassedToService") == (True, "ecs.amazonaws.com")


def test_ecs_default_cluster_and_tasks():
    auths = authorizations("ecs", "DescribeTasks", {"tasks": ["abc", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/x/def"]}, WHERE)
    assert [a.resource for a in auths] == [f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/default/abc",
                                           f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/x/def"]


def test_register_task_definition_passes_roles_and_tags_on_create():
    auths = authorizations("ecs", "RegisterTaskDefinition", {
        "family": "web", "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/app",
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec",
        "tags": [{"key": "stevedore:release", "value": "01J"}]}, WHERE)
    actions = [(a.action, a.resource) for a in auths]
    assert actions[0] == ("ecs:RegisterTaskDefinition", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:1")
    assert ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app") in actions
    assert ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/exec") in actions
    tag = next(a for a in auths if a.action == "ecs:TagResource")
    assert tag.context.lookup("ecs:CreateAction") == (True, "RegisterTaskDefinition")
    assert tag.context.lookup("aws:RequestTag/stevedore:release") == (True, "01J")
    assert tag.context.lookup("aws:RequestTag/other") == (True, None)  # known, absent


def test_dynamodb_transactions_and_indexes():
    auths = authorizations("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Update": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "u"}}]}, WHERE)
    assert [(a.action, a.resource) for a in auths] == [
        ("dynamodb:UpdateItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"),
        ("dynamodb:ConditionCheckItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/u")]
    query = authorizations("dynamodb", "Query", {"TableName": "t", "IndexName": "ByDigest"}, WHERE)
    assert query[0].resource == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t/index/ByDigest"


def test_lambda_codebuild_and_unmapped():
    auths = authorizations("lambda", "Invoke", {"FunctionName": "render"}, WHERE)
    assert (auths[0].action, auths[0].resource) == ("lambda:InvokeFunction",
                                                    f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:render")
    builds = authorizations("codebuild", "BatchGetBuilds", {"ids": ["mig:1", "mig:2", "other:3"]}, WHERE)
    assert [a.resource for a in builds] == [f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/mig",
                                            f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/other"]
    assert authorizations("ecs", "DeleteCluster", {}, WHERE) is None


def test_dynamodb_attributes_of_an_update():
    from stevedore_local.iam_resources import expression_attributes

    assert expression_attributes("SET #f0 = :v0, count = if_not_exists(count, :z) + :one REMOVE a.b[2]",
                                 {"#f0": "smoke_checks"}) == {"smoke_checks", "count", "a"}
    auths = authorizations("dynamodb", "UpdateItem", {
        "TableName": "t", "Key": {"PK": {"S": "x"}, "SK": {"S": "y"}},
        "UpdateExpression": "SET #f0 = :v0", "ConditionExpression": "attribute_exists(PK) AND #seen = :seen",
        "ExpressionAttributeNames": {"#f0": "smoke_checks", "#seen": "smoke_check_count"}}, WHERE)
    assert auths[0].context.lookup("dynamodb:Attributes") == (
        True, ["PK", "SK", "smoke_check_count", "smoke_checks"])
    assert auths[0].context.lookup("dynamodb:ReturnValues") == (True, None)
    only_smoke = [allow("dynamodb:UpdateItem", "*", {"ForAllValues:StringEquals": {
        "dynamodb:Attributes": ["PK", "SK", "smoke_checks", "smoke_check_count"]}})]
    assert evaluate(only_smoke, "dynamodb:UpdateItem", "t", auths[0].context).allowed
    status = authorizations("dynamodb", "UpdateItem", {
        "TableName": "t", "Key": {"PK": {"S": "x"}, "SK": {"S": "y"}},
        "UpdateExpression": "SET #s = :v", "ExpressionAttributeNames": {"#s": "status"}}, WHERE)
    assert not evaluate(only_smoke, "dynamodb:UpdateItem", "t", status[0].context).allowed
    # A GetItem without a projection reads every attribute: not evaluable against such a list.
    get = authorizations("dynamodb", "GetItem", {"TableName": "t", "Key": {"PK": {"S": "x"}}}, WHERE)
    assert evaluate(only_smoke + [allow("dynamodb:GetItem", "*", {"ForAllValues:StringEquals": {
        "dynamodb:Attributes": ["PK"]}})], "dynamodb:GetItem", "t", get[0].context).unevaluated
