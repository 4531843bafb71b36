"""AWS list prices, US East (N. Virginia), as the pricing pages state them (read 2026-12-06).
Each entry: (price in USD, unit, page). The figures here are the only prices the cost
benchmark uses; docs/benchmarks.md prints this table beside the results."""

from __future__ import annotations

READ_ON = "2026-12-06"

STEP_FUNCTIONS = "https://aws.amazon.com/step-functions/pricing/"
LAMBDA = "https://aws.amazon.com/lambda/pricing/"
DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
EVENTBRIDGE = "https://aws.amazon.com/eventbridge/pricing/"
SNS = "https://aws.amazon.com/sns/pricing/"
SQS = "https://aws.amazon.com/sqs/pricing/"
CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
SECRETS_MANAGER = "https://aws.amazon.com/secrets-manager/pricing/"
ECS = "https://aws.amazon.com/ecs/pricing/"

PRICES: dict[str, tuple[float, str, str]] = {
    "sfn_transition": (0.025 / 1000, "state transition (Standard workflow)", STEP_FUNCTIONS),
    "lambda_gb_second_arm": (0.0000133334, "GB-second, Arm (first 7.5 billion GB-s a month)", LAMBDA),
    "lambda_request": (0.20 / 1e6, "request", LAMBDA),
    "ddb_write_unit": (0.625 / 1e6, "write request unit, on-demand, Standard table class", DYNAMODB),
    "ddb_read_unit": (0.125 / 1e6, "read request unit, on-demand, Standard table class", DYNAMODB),
    "ddb_storage_gb_month": (0.25, "GB-month of table storage (first 25 GB free)", DYNAMODB),
    "ddb_pitr_gb_month": (0.20, "GB-month of continuous backup (point-in-time recovery)", DYNAMODB),
    "eventbridge_custom_event": (1.00 / 1e6, "custom event published (64 KB chunk); AWS service events are free", EVENTBRIDGE),
    "sns_publish": (0.50 / 1e6, "Publish request, standard topic (64 KB chunk)", SNS),
    "sqs_request": (0.40 / 1e6, "request, standard queue", SQS),
    "secrets_api_call": (0.05 / 10000, "API call", SECRETS_MANAGER),
    "cw_logs_ingest_gb": (0.50, "GB of standard log data ingested", CLOUDWATCH),
    "cw_logs_store_gb_month": (0.03, "GB-month of log storage", CLOUDWATCH),
    "cw_metric_month": (0.30, "custom metric-month (first 10,000; prorated by the hour, metered only in hours the metric is sent)", CLOUDWATCH),
    "cw_put_metric_data": (0.01 / 1000, "PutMetricData request", CLOUDWATCH),
    "cw_alarm_month": (0.10, "standard-resolution alarm metric-month", CLOUDWATCH),
    "cw_dashboard_month": (3.00, "custom dashboard-month (3 dashboards of up to 50 metrics free)", CLOUDWATCH),
}

HOURS_PER_MONTH = 730  # the hour count AWS pricing examples use for a month

# API calls that carry no charge of their own: ECS, ECR, ELB, EC2 and STS API calls are free
# (ECS bills the tasks' compute, ECR storage and transfer); Step Functions bills transitions,
# not StartExecution / SendTask*; EventBridge Scheduler bills schedule invocations, not its API.
FREE_SERVICES = {"ecs", "ecr", "elbv2", "ec2", "sts", "stepfunctions", "scheduler", "lambda",
                 "iam", "codebuild"}
# (service, operation) -> price key, per request (PutEvents: per entry, counted as 1 a request
# here: the deploy path sends one entry per call).
PRICED_CALLS: dict[tuple[str, str], str] = {
    ("events", "PutEvents"): "eventbridge_custom_event",
    ("sns", "Publish"): "sns_publish",
    ("sqs", "SendMessage"): "sqs_request",
    ("monitoring", "PutMetricData"): "cw_put_metric_data",
    ("secretsmanager", "GetSecretValue"): "secrets_api_call",
    ("secretsmanager", "DescribeSecret"): "secrets_api_call",
    ("secretsmanager", "BatchGetSecretValue"): "secrets_api_call",
    ("secretsmanager", "ListSecrets"): "secrets_api_call",
}


def price(key: str) -> float:
    return PRICES[key][0]


def table() -> list[dict[str, str]]:
    return [{"item": key, "usd": f"{value:.10g}", "unit": unit, "page": page}
            for key, (value, unit, page) in PRICES.items()]
