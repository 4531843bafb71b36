"""IAM enforced locally: each function's and each state machine's request is checked against its
role's policies from template.yaml (after SAM translation; the bootstrap loads them with
``POST /_stevedore/iam/roles``, see tools/local-aws/iam_roles.py).

A request the role does not allow is answered ``AccessDeniedException`` in the service's error
shape and never reaches moto; it is recorded as an audit violation (``check: iam``), as is a
request whose allowing statement has a condition key the emulator cannot evaluate
(``unevaluated``: let through, but never silently) and an operation with no IAM mapping yet.
Enforcement starts when roles are loaded; the tests', the CLI's and the emulator's own requests
are not checked (they act as the account's administrator).

Error shapes:
- JSON protocols (ECS, DynamoDB, Step Functions, ECR, Secrets Manager, SSM, CodeBuild,
  EventBridge): HTTP 400, ``x-amzn-ErrorType`` and ``{"__type", "message"}`` (AWS's common
  errors: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html);
- REST-JSON (Lambda): HTTP 403 with the same header and body fields
  (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html lists no modeled access
  error; the SDKs read the error type from the header).
- query protocol (SNS): HTTP 403 and the ``ErrorResponse`` XML document; SNS's code for it is
  ``AuthorizationError`` (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, "Errors";
  the document's shape: https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html), other
  query services' ``AccessDenied``.
The message names the role and what it lacked, as AWS does ("User: arn:aws:sts::<account>:
assumed-role/<role>/<session> is not authorized to perform: <action> on resource: <arn> because
no identity-based policy allows the <action> action").
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from . import accounts, iam_policy, iam_resources
from .state import STATE

STATE_MACHINE_HEADER = "x-stevedore-state-machine"
CHECKED_KINDS = {"function", "states"}


class Roles:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded = False
        self.partition = "aws"
        self.functions: dict[str, dict[str, Any]] = {}       # binary name -> role
        self.state_machines: dict[str, dict[str, Any]] = {}  # state machine ARN -> role
        self.roles: dict[str, dict[str, Any]] = {}           # role ARN -> role (with "trust")

    def load(self, body: dict[str, Any]) -> dict[str, Any]:
        functions, machines = body.get("functions"), body.get("state_machines")
        if not isinstance(functions, dict) or not isinstance(machines, dict):
            raise ValueError("need {\"functions\": {name: role}, \"state_machines\": {arn: role}}")
        for role in [*functions.values(), *machines.values()]:
            if not isinstance(role, dict) or not isinstance(role.get("statements"), list) \
                    or not isinstance(role.get("role_arn"), str):
                raise ValueError("each role needs \"role_arn\" and a \"statements\" list")
        roles = body.get("roles") or {}
        if not isinstance(roles, dict):
            raise ValueError("\"roles\" must map role ARNs to roles")
        with self.lock:
            self.functions, self.state_machines, self.roles = functions, machines, roles
            self.partition = body.get("partition", "aws")
            self.loaded = True
        return {"functions": sorted(functions), "state_machines": sorted(machines)}

    def clear(self) -> dict[str, Any]:
        with self.lock:
            self.functions, self.state_machines, self.roles, self.loaded = {}, {}, {}, False
        return {"ok": True}

    def view(self) -> dict[str, Any]:
        with self.lock:
            return {"loaded": self.loaded, "functions": self.functions,
                    "state_machines": self.state_machines, "roles": self.roles}

    def role_of(self, kind: str, caller: str, headers: dict[str, str]) -> tuple[str, dict[str, Any] | None]:
        """(who, role) of a request; who names the caller in messages."""
        with self.lock:
            if kind == "function":
                return f"function {caller}", self.functions.get(caller)
            machine = headers.get(STATE_MACHINE_HEADER, "")
            return f"state machine {machine or '(unknown)'}", self.state_machines.get(machine)


ROLES = Roles()


def _session_arn(role_arn: str, session: str) -> str:
    # arn:aws:iam::<account>:role/<path/>name -> arn:aws:sts::<account>:assumed-role/<name>/<session>
    parts = role_arn.split(":", 5)
    name = parts[5].rsplit("/", 1)[-1] if len(parts) == 6 else role_arn
    account = parts[4] if len(parts) == 6 else STATE.account
    return f"arn:{ROLES.partition}:sts::{account}:assumed-role/{name}/{session}"


def check(entry: dict[str, Any], headers: dict[str, str], service: str, operation: str,
          params: dict[str, Any] | None, region: str | None) -> dict[str, Any] | None:
    """The denial to answer (``{"code", "message", "service"}``) or None; records the outcome
    in the audit entry (``iam``) and violations."""
    if not ROLES.loaded or entry.get("kind") not in CHECKED_KINDS:
        return None
    from .request_audit import AUDIT

    who, role = ROLES.role_of(entry["kind"], entry["caller"], headers)
    account = STATE.account
    assumed = accounts.assumed_role(headers)
    if assumed:  # an assumed role's own policies, in its account (see accounts.py)
        with ROLES.lock:
            role = ROLES.roles.get(assumed)
        who, account = f"{who} as {assumed}", accounts.account_of(assumed)
    where = iam_resources.Where(ROLES.partition, region or STATE.region, account)
    problems: list[str] = []
    denial: dict[str, Any] | None = None
    outcomes: list[dict[str, Any]] = []
    if role is None:
        problems.append(f"AccessDenied: no role from template.yaml is known for {who}")
        denial = {"message": f"{who} has no role in template.yaml"}
    elif (service, operation) == ("sts", "AssumeRole"):
        target = str((params or {}).get("RoleArn", ""))
        refusal = accounts.assume_refusal(ROLES.roles, role, target,
                                          (params or {}).get("ExternalId"), where)
        outcomes.append({"action": "sts:AssumeRole", "resource": target, "allowed": refusal is None,
                         "reason": refusal or "allowed by policy and trust", "unevaluated": []})
        if refusal:
            denial = {"message": f"User: {_session_arn(role['role_arn'], entry['caller'])} {refusal.split(' ', 1)[1]}"}
            if not accounts.is_trust_refusal(refusal):  # the other account's trust: not ours to fix
                problems.append(f"AccessDenied: {refusal}")
    else:
        needed = iam_resources.authorizations(service, operation, params or {}, where)
        if needed is None:
            problems.append(f"unmapped: {service}:{operation} has no IAM mapping in the emulator "
                            "(stevedore_local/iam_resources.py); not checked")
        for auth in needed or []:
            decision = iam_policy.evaluate(role["statements"], auth.action, auth.resource, auth.context)
            outcomes.append({"action": auth.action, "resource": auth.resource,
                             "allowed": decision.allowed, "reason": decision.reason,
                             "unevaluated": decision.unevaluated})
            if decision.unevaluated:
                problems.append(f"unevaluated: condition key(s) {sorted(set(decision.unevaluated))} of "
                                f"{role['role_arn']} for {auth.action} on {auth.resource}")
            if not decision.allowed and denial is None:
                session = entry["caller"] if entry["kind"] == "function" else "states-execution"
                why = (f"no identity-based policy allows the {auth.action} action"
                       if decision.reason.startswith("no ") else
                       "an explicit deny in an identity-based policy")
                denial = {"message": (f"User: {_session_arn(role['role_arn'], session)} is not "
                                      f"authorized to perform: {auth.action} on resource: "
                                      f"{auth.resource} {'because' if decision.reason.startswith('no ') else 'with'} {why}")}
                problems.append(f"AccessDenied: {auth.action} on {auth.resource} "
                                f"({decision.reason}; role {role['role_arn']})")
    entry["iam"] = {"who": who, "role": role and role["role_arn"], "checks": outcomes,
                    "denied": denial is not None}
    if problems:
        with AUDIT.lock:
            for problem in problems:
                AUDIT.violations.append({"seq": entry.get("seq"), "time": entry.get("time"),
                                         "caller": entry["caller"], "kind": entry["kind"],
                                         "service": service, "operation": operation,
                                         "member": "(iam)", "check": "iam", "problem": problem,
                                         "value": None})
    return denial


def _trusts(trust: dict[str, Any], service_principal: str, ctx: iam_policy.RequestContext,
            role_arn: str) -> iam_policy.Decision:
    """Does the role's trust policy let the service principal assume it? (Statements naming
    the principal, evaluated for sts:AssumeRole with the service's condition keys.)"""
    statements = []
    for stmt in trust.get("Statement") or []:
        services = ((stmt.get("Principal") or {}).get("Service")) if isinstance(stmt.get("Principal"), dict) else None
        if service_principal in ([services] if isinstance(services, str) else services or []):
            statements.append({**stmt, "Resource": "*"})
    return iam_policy.evaluate(statements, "sts:AssumeRole", "*", ctx)


def service_role_refusal(caller: str, role_arn: str | None, service_principal: str, action: str,
                         resource: str, source_arn: str) -> str | None:
    """Why AWS would refuse a service (ECS invoking a lifecycle hook) acting with one of the
    template's roles: the trust policy must let the service assume it for this account
    (aws:SourceAccount, aws:SourceArn: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html)
    and the role must allow the action. None when allowed, or when the role is not the
    template's (another team's role: its policies are not known here). A refusal or an
    unevaluable key is recorded as a violation of kind ``service``."""
    with ROLES.lock:
        role = ROLES.roles.get(role_arn or "") if ROLES.loaded else None
    if role is None:
        return None
    from .request_audit import AUDIT

    where = iam_resources.Where(ROLES.partition, STATE.region, STATE.account)
    ctx = iam_resources.request_context(where, {"aws:SourceAccount": STATE.account, "aws:SourceArn": source_arn})
    trust = _trusts(role.get("trust") or {}, service_principal, ctx, role_arn or "")
    allowed = iam_policy.evaluate(role["statements"], action, resource, ctx)
    problems = []
    refusal = None
    if not trust.allowed:
        refusal = f"{service_principal} may not assume {role_arn} ({trust.reason})"
    elif not allowed.allowed:
        refusal = f"{role_arn} does not allow {action} on {resource} ({allowed.reason})"
    if refusal:
        problems.append(f"AccessDenied: {refusal}")
    for decision in (trust, allowed):
        if decision.unevaluated:
            problems.append(f"unevaluated: condition key(s) {sorted(set(decision.unevaluated))} "
                            f"of {role_arn}")
    if problems:
        with AUDIT.lock:
            for problem in problems:
                AUDIT.violations.append({"seq": None, "time": None, "caller": caller, "kind": "service",
                                         "service": action.split(":", 1)[0], "operation": action,
                                         "member": "(iam)", "check": "iam", "problem": problem,
                                         "value": None})
    return refusal


# The code a query-protocol service answers a request its caller may not make with.
QUERY_ACCESS_CODES = {"sns": "AuthorizationError"}


def _query_error(service: str, message: str, start_response: Any) -> list[bytes]:
    from xml.sax.saxutils import escape

    from .request_audit import service_model

    code = QUERY_ACCESS_CODES.get(service, "AccessDenied")
    namespace = service_model(service).metadata.get("xmlNamespace", "")
    body = (f'<ErrorResponse xmlns="{escape(namespace)}"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body))),
                                     ("x-amzn-RequestId", str(uuid.uuid4()))])
    return [body]


def error_response(service: str, protocol: str, message: str, start_response: Any) -> list[bytes]:
    from .request_audit import service_model

    if protocol == "query":
        return _query_error(service, message, start_response)
    code = "AccessDeniedException"
    wire_type = "com.amazon.coral.service#AccessDeniedException" if service == "dynamodb" else code
    body = json.dumps({"__type": wire_type, "message": message, "Message": message}).encode()
    if protocol == "json":
        version = service_model(service).metadata.get("jsonVersion", "1.0")
        content_type, status = f"application/x-amz-json-{version}", "400 Bad Request"
    else:
        content_type, status = "application/json", "403 Forbidden"
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("x-amzn-ErrorType", code), ("x-amzn-RequestId", str(uuid.uuid4()))])
    return [body]


def wrap(app: Any) -> Any:
    """WSGI step between the request audit and moto (and its faults): answers denials."""

    def enforcing(environ: dict[str, Any], start_response: Any) -> Any:
        entry = environ.get("stevedore.audit_entry")
        request = environ.get("stevedore.audit_request")
        if not ROLES.loaded or not isinstance(entry, dict) or request is None:
            return app(environ, start_response)
        service, operation, protocol, params, headers, region = request
        try:
            denial = check(entry, headers, service, operation, params, region)
        except Exception as err:  # noqa: BLE001 - an evaluator bug is a violation, not a crash
            from .request_audit import AUDIT

            with AUDIT.lock:
                AUDIT.violations.append({"seq": entry.get("seq"), "time": entry.get("time"),
                                         "caller": entry["caller"], "kind": entry["kind"],
                                         "service": service, "operation": operation,
                                         "member": "(iam)", "check": "iam",
                                         "problem": f"IAM check crashed: {err!r}", "value": None})
            return app(environ, start_response)
        if denial is None:
            return app(environ, start_response)
        if protocol not in ("json", "rest-json", "query"):
            return app(environ, start_response)  # recorded; no other protocol is denied yet
        return error_response(service, protocol, denial["message"], start_response)

    return enforcing
