"""Elastic Load Balancing V2 reads as IAM authorizes them (the rollout prediction's target
group reads). Service Authorization Reference, list_awselasticloadbalancingv2.html
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html):
the Describe actions (DescribeTargetGroups, DescribeTargetGroupAttributes) list no resource
type, so they are authorized on "*", which only a policy granting "*" allows.
"""

from __future__ import annotations

from .iam_request import Mapper, _star

MAPPERS: dict[tuple[str, str], Mapper] = {
    ("elbv2", "DescribeTargetGroups"): _star("elasticloadbalancing:DescribeTargetGroups"),
    ("elbv2", "DescribeTargetGroupAttributes"):
        _star("elasticloadbalancing:DescribeTargetGroupAttributes"),
}
