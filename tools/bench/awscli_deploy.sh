#!/usr/bin/env bash
# A deploy as CI pipelines script it with the AWS CLI alone: a new revision of the service's
# task definition with IMAGE in CONTAINER, UpdateService, then wait until the service is stable.
#   awscli_deploy.sh CLUSTER SERVICE CONTAINER IMAGE
# The endpoint, region and credentials come from the environment (AWS_ENDPOINT_URL, ...).
set -euo pipefail
cluster=$1 service=$2 container=$3 image=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

current=$(aws ecs describe-services --cluster "$cluster" --services "$service" \
  --query 'services[0].taskDefinition' --output text)
aws ecs describe-task-definition --task-definition "$current" --query taskDefinition \
  > "$work/current.json"
# Keep the registrable fields, put the image in.
python3 - "$work/current.json" "$container" "$image" > "$work/new.json" <<'EOF'
import json, sys
td = json.load(open(sys.argv[1]))
for key in ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
            "registeredAt", "registeredBy", "deregisteredAt"):
    td.pop(key, None)
for c in td["containerDefinitions"]:
    if c["name"] == sys.argv[2]:
        c["image"] = sys.argv[3]
json.dump(td, sys.stdout)
EOF
revision=$(aws ecs register-task-definition --cli-input-json "file://$work/new.json" \
  --query taskDefinition.taskDefinitionArn --output text)
aws ecs update-service --cluster "$cluster" --service "$service" --task-definition "$revision" \
  --query service.serviceName --output text > /dev/null
aws ecs wait services-stable --cluster "$cluster" --services "$service"
echo "deployed $revision"
