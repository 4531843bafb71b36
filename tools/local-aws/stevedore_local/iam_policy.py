"""IAM policy evaluation for one identity's policies: does it allow an action on a resource?

Only identity-based policies of one role take part (the role of a function or a state machine,
as template.yaml gives it after SAM translation); no permission boundaries, SCPs or resource
policies, which the stack does not use. The logic follows AWS's documented evaluation:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- an explicit Deny wins; otherwise an Allow is needed; otherwise the request is denied;
- a statement applies when its Action (or NotAction), Resource (or NotResource) and every
  condition match;
- Action matching ignores case; Resource matching is case-sensitive, ``*`` matches any run of
  characters (slashes and colons included), ``?`` one character
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
Conditions (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
- operators of one block, and keys of one operator, are ANDed; the values of one key are ORed;
- a key missing from the request context makes the condition false, except for the negated
  operators (``StringNotEquals``, ``ArnNotLike``...) where it makes it true, ``...IfExists``
  (true when missing) and ``Null``;
- ``ArnLike`` / ``ArnEquals`` compare each of the six colon-separated ARN parts on its own.
A key the emulator cannot know for a request (the context says ``UNKNOWN`` or leaves it out
of ``known``) is never guessed: the statement is reported as ``unevaluated`` and the caller
records that as an audit violation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

UNKNOWN = object()  # a key that applies to the request but whose value the emulator lacks


@dataclass
class Decision:
    allowed: bool
    reason: str
    unevaluated: list[str] = field(default_factory=list)  # condition keys nobody could evaluate


@dataclass
class RequestContext:
    """Condition keys of one authorization: ``values`` holds the keys present (lower-cased
    names, a str or a list of str); ``known`` the keys the emulator can tell for this request
    (a known key missing from ``values`` is absent from the request)."""

    values: dict[str, Any] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)

    def lookup(self, key: str) -> tuple[bool, Any]:
        """(evaluable, value or None when absent)."""
        key = key.lower()
        if key in self.values:
            value = self.values[key]
            return (value is not UNKNOWN), (None if value is UNKNOWN else value)
        return (key in self.known or _known_by_prefix(key, self.known)), None


def _known_by_prefix(key: str, known: set[str]) -> bool:
    # "aws:requesttag/*" in known: every aws:RequestTag/<key> is known (absent unless in values).
    return any(k.endswith("/*") and key.startswith(k[:-1]) for k in known)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return bool(_glob(pattern, ignore_case).match(value))


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own (the last one keeps
    any further colons)."""
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(glob_match(p, v) for p, v in zip(p_parts, v_parts))


# ------------------------------------------------------------------ condition operators
def _string_op(name: str):
    base = name
    negated = "Not" in base
    if base.startswith("String"):
        ignore = base.endswith("IgnoreCase")
        like = "Like" in base
        if like:
            def test(p: str, v: str) -> bool:
                return glob_match(p, v)
        elif ignore:
            def test(p: str, v: str) -> bool:
                return p.lower() == v.lower()
        else:
            def test(p: str, v: str) -> bool:
                return p == v
    elif base.startswith("Arn"):
        if "Like" in base:
            test = arn_like
        else:
            def test(p: str, v: str) -> bool:
                return arn_like(p, v) if ("*" in p or "?" in p) else p == v
    elif base == "Bool":
        def test(p: str, v: str) -> bool:
            return str(p).lower() == str(v).lower()
    else:
        return None, False
    return test, negated


STRING_OPERATORS = {f"String{x}" for x in ("Equals", "NotEquals", "EqualsIgnoreCase",
                                            "NotEqualsIgnoreCase", "Like", "NotLike")} | \
    {f"Arn{x}" for x in ("Equals", "Like", "NotEquals", "NotLike")} | {"Bool"}


def _condition_holds(operator: str, key: str, wanted: Any,
                     ctx: RequestContext) -> tuple[bool | None, str | None]:
    """(holds, unevaluated key) for one key of one operator; holds is None when unknown."""
    qualifier = None
    op = operator
    if ":" in op:
        qualifier, op = op.split(":", 1)  # ForAnyValue / ForAllValues
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    evaluable, value = ctx.lookup(key)
    if not evaluable:
        return None, key
    wanted_values = [str(w) for w in _as_list(wanted)]
    if op == "Null":
        is_null = value is None or value == []
        return any((w.lower() == "true") == is_null for w in wanted_values), None
    if op not in STRING_OPERATORS:
        return None, f"{key} (operator {operator} not emulated)"
    test, negated = _string_op(op)
    values = [str(v) for v in _as_list(value)]
    if not values:  # absent key
        if if_exists:
            return True, None
        if qualifier == "ForAllValues":
            return True, None  # vacuously true for an empty set
        return negated, None

    def one(v: str) -> bool:
        hit = any(test(w, v) for w in wanted_values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values), None
    if qualifier == "ForAnyValue" or len(values) > 1:
        return any(one(v) for v in values), None
    return one(values[0]), None


def conditions_hold(condition: dict[str, Any] | None,
                    ctx: RequestContext) -> tuple[bool | None, list[str]]:
    """(all hold / some fails / None when undecidable, unevaluated keys)."""
    if not condition:
        return True, []
    unknown: list[str] = []
    for operator, block in condition.items():
        for key, wanted in (block or {}).items():
            holds, missing = _condition_holds(operator, key, wanted, ctx)
            if missing:
                unknown.append(missing)
            elif holds is False:
                return False, []
    return (None if unknown else True), unknown


# ------------------------------------------------------------------ statements
def _matches_any(patterns: Iterable[str], value: str, ignore_case: bool) -> bool:
    return any(glob_match(p, value, ignore_case) for p in patterns)


def statement_applies(stmt: dict[str, Any], action: str,
                      resource: str) -> bool:
    if "Action" in stmt:
        if not _matches_any(_as_list(stmt["Action"]), action, True):
            return False
    elif "NotAction" in stmt:
        if _matches_any(_as_list(stmt["NotAction"]), action, True):
            return False
    else:
        return False
    if "Resource" in stmt:
        return _matches_any(_as_list(stmt["Resource"]), resource, False)
    if "NotResource" in stmt:
        return not _matches_any(_as_list(stmt["NotResource"]), resource, False)
    return False


def evaluate(statements: list[dict[str, Any]], action: str, resource: str,
             ctx: RequestContext | None = None) -> Decision:
    """Decide one (action, resource) against a role's statements."""
    ctx = ctx or RequestContext()
    allowed_by: int | None = None
    unevaluated: list[str] = []
    for index, stmt in enumerate(statements):
        if not statement_applies(stmt, action, resource):
            continue
        holds, unknown = conditions_hold(stmt.get("Condition"), ctx)
        unevaluated += unknown
        effect = stmt.get("Effect")
        if effect == "Deny" and holds:
            return Decision(False, f"explicitly denied by statement {index}", unevaluated)
        if effect == "Allow" and holds and allowed_by is None:
            allowed_by = index
    if allowed_by is not None:
        return Decision(True, f"allowed by statement {allowed_by}", unevaluated)
    if unevaluated:
        # An Allow that could not be decided: not allowed silently, and not denied on a guess.
        return Decision(True, "undecided: a matching statement's condition could not be evaluated",
                        unevaluated)
    return Decision(False, "no identity-based policy allows it", [])
