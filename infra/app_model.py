"""What Lambda functions app.py deploys, read from the Chalice app object itself.

The app is imported in a child process with the stage's environment (as
`chalice package` and `chalice deploy` import it), so the decorators' values
are the stage's and nothing leaks into the caller's modules or environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from infra import project
from infra.resources import API_HANDLER, lambda_function_name

# Runs in the child: prints one JSON object per Lambda function.
_DESCRIBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from chalice.app import DynamoDBEventConfig, SNSEventConfig, SQSEventConfig
import app as module
app = module.app
functions = []
if app.routes:
    functions.append({"name": "api_handler", "kind": "api", "source": "", "handler": "app.app"})
for auth in app.builtin_auth_handlers:
    functions.append({"name": auth.name, "kind": "authorizer", "source": "", "handler": auth.handler_string})
for config in app.event_sources:
    if isinstance(config, DynamoDBEventConfig):
        kind, source = "dynamodb", config.stream_arn
    elif isinstance(config, SQSEventConfig):
        kind, source = "sqs", config.queue_arn or config.queue
    elif isinstance(config, SNSEventConfig):
        kind, source = "sns", config.topic
    else:
        kind, source = type(config).__name__, ""
    functions.append({"name": config.name, "kind": kind, "source": source, "handler": config.handler_string})
print(json.dumps(functions))
"""


@dataclass(frozen=True)
class LambdaFunction:
    name: str  # Chalice's name: the handler function's name, or api_handler
    kind: str  # api | authorizer | dynamodb | sqs | sns
    source: str  # stream ARN, queue name/ARN or topic name/ARN, as the decorator says
    handler: str

    def physical_name(self, stage: str) -> str:
        return lambda_function_name(stage, self.name)

    @property
    def is_api(self) -> bool:
        return self.name == API_HANDLER


def describe_app(project_dir: Path, stage: str) -> list[LambdaFunction]:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        **project.stage_environment(project_dir, stage),
        **project.DEPLOY_TOOL_ENV,
    }
    result = subprocess.run(
        [sys.executable, "-c", _DESCRIBE, str(project_dir)],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"could not load app.py for stage {stage}:\n{result.stderr}")
    return [LambdaFunction(**entry) for entry in json.loads(result.stdout.strip().splitlines()[-1])]


def function_kinds(functions: list[LambdaFunction]) -> dict[str, str]:
    return {function.name: function.kind for function in functions}
