"""CloudFormation/SAM template reading for the local stack: YAML short tags and intrinsics.

Physical names and ARNs are derived deterministically from the stack name and logical ids
(functions: their cargo binary name), so any reference resolves before anything exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

class BootstrapError(Exception):
    """The template cannot be turned into a local stack; the message says which part."""


# ---------------------------------------------------------------- template loading

class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation's short-form intrinsic tags."""


def _construct_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # !GetAtt Res.Attr.Sub → ["Res", "Attr.Sub"]
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        template = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict) or "Resources" not in template:
        raise BootstrapError(f"{path}: not a CloudFormation template (no Resources)")
    return template


# ---------------------------------------------------------------- intrinsic resolution

class Resolver:
    """Resolves intrinsics against parameters, pseudo parameters and the template's resources.

    Physical names and ARNs are deterministic (`<stack>-<LogicalId>`, binary names for
    functions), so every reference can be resolved before anything is created.
    """

    def __init__(self, template: dict[str, Any], stack: str, region: str,
                 parameters: dict[str, Any] | None = None, account: str = ACCOUNT_ID) -> None:
        self.template = template
        self.account = account  # the account the template is deployed into
        self.parameters = dict(parameters or {})  # overrides of the parameters' defaults
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.stack, self.region = stack, region
        # A table's stream ARN ends with the time its stream was created: known once it exists.
        self.stream_arns: dict[str, str] = {}
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::StackName": stack,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{self.account}:stack/{stack}/local",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }

    # -- physical identities
    def attributes(self, logical_id: str) -> dict[str, Any]:
        """{"Ref": ..., "<Attr>": ...} for one resource, computed without creating it."""
        if logical_id not in self.resources and self._generated_role(logical_id):
            # SAM's generated execution role `<Function>Role` / `<StateMachine>Role`
            # (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources-function.html),
            # named as iam_roles.role_arn names it.
            name = f"{self.stack}-{logical_id}"
            return {"Ref": name, "Arn": f"arn:aws:iam::{self.account}:role/{name}"}
        if logical_id not in self.resources:
            raise BootstrapError(f"reference to resource {logical_id!r}, which is not in the template")
        res = self.resources[logical_id]
        rtype, props = res.get("Type"), res.get("Properties") or {}
        arn = f"arn:aws:{{}}:{self.region}:{self.account}:{{}}"
        if rtype == "AWS::DynamoDB::Table":
            name = self.resolve(props.get("TableName")) or f"{self.stack}-{logical_id}"
            attrs = {"Ref": name, "Arn": arn.format("dynamodb", f"table/{name}")}
            if logical_id in self.stream_arns:
                attrs["StreamArn"] = self.stream_arns[logical_id]
            return attrs
        if rtype == "AWS::Serverless::Function":
            binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
            if not binary:
                raise BootstrapError(f"function {logical_id} has no Metadata.BuildProperties.Binary")
            return {"Ref": binary, "Arn": arn.format("lambda", f"function:{binary}")}
        if rtype == "AWS::Serverless::StateMachine":
            name = self.resolve(props.get("Name")) or f"{self.stack}-{logical_id}"
            sm_arn = arn.format("states", f"stateMachine:{name}")
            return {"Ref": sm_arn, "Arn": sm_arn, "Name": name}
        if rtype == "AWS::Events::Rule":
            name = self.resolve(props.get("Name")) or f"{self.stack}-{logical_id}"
            return {"Ref": name, "Arn": arn.format("events", f"rule/{name}")}
        if rtype == "AWS::IAM::Role":
            name = self.resolve(props.get("RoleName")) or f"{self.stack}-{logical_id}"
            return {"Ref": name, "Arn": f"arn:aws:iam::{self.account}:role/{name}"}
        if rtype == "AWS::Logs::LogGroup":
            name = self.resolve(props.get("LogGroupName")) or f"/{self.stack}/{logical_id}"
            return {"Ref": name, "Arn": arn.format("logs", f"log-group:{name}:*")}
        if rtype == "AWS::SQS::Queue":
            name = self.resolve(props.get("QueueName")) or f"{self.stack}-{logical_id}"
            return {"Ref": f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}", "QueueName": name,
                    "Arn": arn.format("sqs", name)}
        if rtype == "AWS::SNS::Topic":
            # Ref is the topic's ARN (AWS::SNS::Topic "Return values").
            name = self.resolve(props.get("TopicName")) or f"{self.stack}-{logical_id}"
            topic_arn = arn.format("sns", name)
            return {"Ref": topic_arn, "TopicArn": topic_arn, "TopicName": name}
        if rtype == "AWS::CloudWatch::Dashboard":
            name = self.resolve(props.get("DashboardName")) or f"{self.stack}-{logical_id}"
            return {"Ref": name}
        # Anything else (alarms, IAM): a name is enough, nothing locally consumes more.
        return {"Ref": f"{self.stack}-{logical_id}", "Arn": arn.format("local", logical_id)}

    def _generated_role(self, logical_id: str) -> bool:
        owner = self.resources.get(logical_id[:-len("Role")]) if logical_id.endswith("Role") else None
        return bool(owner) and owner.get("Type") in ("AWS::Serverless::Function",
                                                     "AWS::Serverless::StateMachine") \
            and "Role" not in (owner.get("Properties") or {})

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        params = self.template.get("Parameters") or {}
        if name in params:
            if name in self.parameters:
                value = self.parameters[name]
            elif "Default" in params[name]:
                value = params[name]["Default"]
            else:
                raise BootstrapError(f"parameter {name} has no Default; the local stack needs one")
            if str(params[name].get("Type", "")).startswith(("CommaDelimitedList", "List<")):
                # A list parameter's Ref is the list (values split at commas, spaces trimmed).
                return value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
            return value if isinstance(value, (list, str)) else str(value)
        return self.attributes(name)["Ref"]

    def get_att(self, logical_id: str, attr: str) -> Any:
        attrs = self.attributes(logical_id)
        if attr == "StreamArn" and attr not in attrs and \
                self.resources[logical_id].get("Type") == "AWS::DynamoDB::Table":
            raise BootstrapError(f"!GetAtt {logical_id}.StreamArn: the table has no stream "
                                 "(StreamSpecification), or is not created yet")
        if attr not in attrs or attr == "Ref":
            raise BootstrapError(f"!GetAtt {logical_id}.{attr}: attribute not known locally")
        return attrs[attr]

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise BootstrapError(f"condition {name!r} is not in the template")
        return bool(self.resolve(conditions[name]))

    def sub(self, text: str, local: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("!"):  # ${!Literal} stays as ${Literal}
                return "${" + expr[1:] + "}"
            if expr in local:
                return str(self.resolve(local[expr]))
            if "." in expr and not expr.startswith("AWS::"):
                return str(self.get_att(*expr.split(".", 1)))
            return str(self.ref(expr))

        return PLACEHOLDER.sub(one, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key[4:], arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _function(self, fn: str, arg: Any) -> Any:
        if fn == "GetAtt":
            logical_id, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.get_att(logical_id, attr)
        if fn == "Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            return self.sub(text, local)
        if fn == "Join":
            sep, items = arg
            return str(sep).join(str(i) for i in self.resolve(items))
        if fn == "Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if fn == "Split":
            sep, text = self.resolve(arg)
            return text.split(sep)
        if fn == "If":
            cond, yes, no = arg
            return self.resolve(yes if self.condition(cond) else no)
        if fn == "Equals":
            a, b = self.resolve(arg)
            return str(a) == str(b)
        if fn == "Not":
            return not self.resolve(arg[0])
        if fn == "And":
            return all(self.resolve(arg))
        if fn == "Or":
            return any(self.resolve(arg))
        if fn == "FindInMap":
            mapping, top, second = self.resolve(arg)
            return self.template["Mappings"][mapping][top][second]
        if fn == "GetAZs":
            return [f"{self.region}{z}" for z in "abc"]
        raise BootstrapError(f"Fn::{fn} is not supported by the local bootstrap")
