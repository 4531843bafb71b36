"""Translates template.yaml to plain CloudFormation offline, so cfn-lint can check the
result for dangling references (which it misses inside DefinitionSubstitutions of the SAM
form), and checks every ${...} in every state machine resolves to a substitution.

Usage: python tools/lint/sam_translate.py template.yaml OUT.json
"""

import json
import os
import re
import sys
from pathlib import Path

from cfnlint.decode import decode
from samtranslator.translator.transform import transform


def substitutions_resolve(template: dict, root: Path) -> list[str]:
    problems = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::StateMachine":
            continue
        props = resource.get("Properties", {})
        definition = (root / props["DefinitionUri"]).read_text()
        subs = props.get("DefinitionSubstitutions", {})
        for placeholder in sorted(set(re.findall(r"\$\{([^}]+)\}", definition))):
            if placeholder not in subs:
                problems.append(f"{name}: ${{{placeholder}}} in {props['DefinitionUri']} has no DefinitionSubstitutions entry")
        for key, value in subs.items():
            target = None
            if isinstance(value, dict) and "Fn::GetAtt" in value:
                attr = value["Fn::GetAtt"]
                target = attr[0] if isinstance(attr, list) else attr.split(".")[0]
            elif isinstance(value, dict) and "Ref" in value:
                target = value["Ref"]
            if target and target not in template.get("Resources", {}) and target not in template.get("Parameters", {}):
                problems.append(f"{name}: substitution {key} refers to {target}, which the template does not define")
    return problems


def main() -> int:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template, matches = decode(str(source))
    if matches:
        for m in matches:
            print(m)
        return 1
    problems = substitutions_resolve(template, source.parent)
    for name, resource in template["Resources"].items():
        # Code locations are placeholders: translation only needs them to be S3 URIs.
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            props = resource["Properties"]
            if "CodeUri" in props or resource["Type"] == "AWS::Serverless::Function":
                props["CodeUri"] = "s3://placeholder/code.zip"
            if "DefinitionUri" in props:
                props["Definition"] = json.loads((source.parent / props.pop("DefinitionUri")).read_text())
    if "Globals" in template and "Function" in template["Globals"]:
        template["Globals"]["Function"].pop("CodeUri", None)
    translated = transform(template, {}, None)
    out.write_text(json.dumps(translated, indent=1, default=str))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
