"""The pieces every IAM request mapping uses: an authorization (action, resource, condition
keys), where the request runs, the global condition keys, iam:PassRole, and what the mapping
reads from the emulator's state. See iam_resources.py for the mappings and their sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .iam_policy import RequestContext

# Global keys the emulator can tell for a function's or a state machine's own request. The
# request comes from the role itself, not from a service on someone's behalf, so
# aws:SourceAccount / aws:SourceArn are absent (they are set for service principals):
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
GLOBAL_KNOWN = {"aws:sourceaccount", "aws:sourcearn", "aws:calledvia", "aws:requestedregion",
                "aws:principalaccount", "aws:securetransport", "aws:principaltype"}


@dataclass
class Authorization:
    action: str
    resource: str
    context: RequestContext = field(default_factory=RequestContext)


@dataclass
class Where:
    partition: str
    region: str
    account: str

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"


def request_context(where: Where, values: dict[str, Any] | None = None, known: set[str] | None = None) -> RequestContext:
    vals = {"aws:requestedregion": where.region, "aws:principalaccount": where.account,
            "aws:principaltype": "AssumedRole", "aws:securetransport": "true"}
    vals.update({k.lower(): v for k, v in (values or {}).items()})
    return RequestContext(values=vals, known=GLOBAL_KNOWN | {k.lower() for k in (known or set())}
                          | set(vals))


def pass_role(where: Where, role_arn: str, service_principal: str) -> Authorization:
    return Authorization("iam:PassRole", role_arn,
                         request_context(where, {"iam:PassedToService": service_principal},
                              {"iam:AssociatedResourceArn"}))



def _star(action: str) -> Callable[[Where, dict[str, Any], "Lookup"], list[Authorization]]:
    def mapper(where: Where, _p: dict[str, Any], _l: "Lookup") -> list[Authorization]:
        return [Authorization(action, "*", request_context(where))]

    return mapper



class Lookup:
    """What authorization needs from the emulator's current state (moto's backends)."""

    def __init__(self, where: Where):
        self.where = where

    def latest_task_definition_revision(self, family: str) -> int | None:
        try:
            from moto.ecs.models import ecs_backends

            backend = ecs_backends[self.where.account][self.where.region]
            revisions = backend.task_definitions.get(family) or {}
            return max(revisions) if revisions else None
        except Exception:  # noqa: BLE001 - no backend state: the ARN stays a pattern
            return None

    def secret_arn(self, secret_id: str) -> str | None:
        try:
            from moto.secretsmanager.models import secretsmanager_backends

            backend = secretsmanager_backends[self.where.account][self.where.region]
            return backend.secrets[secret_id].arn if secret_id in backend.secrets else None
        except Exception:  # noqa: BLE001
            return None



Mapper = Callable[[Where, dict[str, Any], Lookup], list[Authorization]]
