"""The Python comparison: what a boto3 Lambda does before its first event.

    python boto3_setup.py dynamodb stepfunctions ...

Imports boto3, builds one client per named service (as a handler module does at import, once
per execution environment; region, credentials and endpoint from the environment, as the
Rust functions read them), then asks the Runtime API (AWS_LAMBDA_RUNTIME_API) for its first
event. It never handles one: the measuring side stops it at that request. Lambda's own Python
runtime client (awslambdaric) is not loaded, so this is a lower bound for a real function.
"""

from __future__ import annotations

import os
import sys
import urllib.request

import boto3

clients = [boto3.client(service) for service in sys.argv[1:]]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
opener.open(f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation/next")
