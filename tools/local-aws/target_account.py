"""A workload account for the local stack: template-target.yaml applied into a second account of
the same emulator (moto keeps accounts apart; `x-moto-account-id` picks the account a request
acts in), as a platform engineer deploys it into each workload account after the tools stack.

Its role (`stevedore-target`, trusting the tools stack's function and state machine roles) and
its lifecycle hook role join the roles the emulator enforces (stevedore_local/accounts.py); its
forwarding rules are created on that account's default bus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bootstrap import REPO_ROOT, LocalStackResources, _control, _put_rule
from cfn_template import ACCOUNT_ID, BootstrapError, Resolver, load_template

WORKLOAD_ACCOUNT = "222222222222"
TARGET_TEMPLATE = REPO_ROOT / "template-target.yaml"
TARGET_STACK = "stevedore-target"


def in_account(client: Any, account: str) -> Any:
    """`client`'s requests act in `account` (moto's `x-moto-account-id`)."""

    def add_header(request: Any, **_kwargs: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register_first("before-sign.*.*", add_header)
    return client


def _statements(resolver: Resolver, props: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in props.get("Policies") or []:
        statements = resolver.resolve(policy.get("PolicyDocument") or {}).get("Statement") or []
        out += statements if isinstance(statements, list) else [statements]
    return out


def bootstrap_target(session: Any, endpoint_url: str, tools: LocalStackResources,
                     account: str = WORKLOAD_ACCOUNT, template_path: Path = TARGET_TEMPLATE,
                     parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply template-target.yaml into `account`; returns its roles ({ARN: role}) after
    handing them to the emulator with the tools stack's own."""
    if account == ACCOUNT_ID:
        raise BootstrapError("the workload account must not be the tools account")
    region = tools.region
    trusted = tools.outputs.get("TargetTrustedRoleArns")
    if not trusted:
        raise BootstrapError("the tools stack has no TargetTrustedRoleArns output")
    template = load_template(template_path)
    resolver = Resolver(template, TARGET_STACK, region, {
        "ToolsAccountId": ACCOUNT_ID, "ToolsRegion": region,
        "TrustedRoleArns": trusted.split(","),
        "HookFunctionArn": tools.outputs.get("HookFunctionArn", ""),
        **(parameters or {})}, account=account)
    events = in_account(session.client("events", endpoint_url=endpoint_url, region_name=region),
                        account)
    roles: dict[str, Any] = {}
    for lid, res in template["Resources"].items():
        if "Condition" in res and not resolver.condition(res["Condition"]):
            continue
        rtype, raw = res.get("Type"), res.get("Properties") or {}
        if rtype == "AWS::IAM::Role":
            arn = resolver.attributes(lid)["Arn"]
            roles[arn] = {"role_arn": arn, "statements": _statements(resolver, raw),
                          "trust": resolver.resolve(raw.get("AssumeRolePolicyDocument") or {})}
        elif rtype == "AWS::Events::Rule":
            props = resolver.resolve(raw)
            targets = [{k: v for k, v in t.items() if k in ("Id", "Arn", "RoleArn")}
                       for t in props.get("Targets") or []]
            _put_rule(events, resolver.attributes(lid)["Ref"], props.get("EventPattern"), targets,
                      props.get("EventBusName", "default"))
        else:
            raise BootstrapError(f"{template_path.name}: resource {lid}: type {rtype} has no "
                                 "local counterpart; teach tools/local-aws/target_account.py")
    tools.roles.setdefault("roles", {}).update(roles)
    _control(endpoint_url, "iam/roles", tools.roles)
    return roles
