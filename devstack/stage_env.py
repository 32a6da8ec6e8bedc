"""The stack's own settings win over the local stage's.

The `local` stage in .chalice/config.json names the emulator of `make run`
(127.0.0.1:4566, and 4567 for DynamoDB; its dummy credentials and region) and the local admin
token's hash, so a plain `chalice local --stage local` works against it with
no variables to export. A stack started elsewhere (the tests, the soak, or
LEADFLOW_AWS_PORT) sets these itself for every process it starts; but
Chalice applies the stage's variables over the process environment when it
loads the app, which would point those processes back at 4566. So the
processes the stack starts keep the values they were given.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

from devstack.endpoints import SERVICE_ENV_VARS

# The variables the stack decides per run (devstack.stack.LocalStack.base_env).
STACK_OWNED = (
    "AWS_ENDPOINT_URL",
    *SERVICE_ENV_VARS.values(),
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "ADMIN_TOKEN_SHA256",
    "SENDER_KEYS",
)


def without_stack_owned(variables: dict[str, str]) -> dict[str, str]:
    """The stage's variables minus those a stack (or a test) sets for itself."""
    return {name: value for name, value in variables.items() if name not in STACK_OWNED}


def keep_stack_environment() -> None:
    """From now on, Chalice's loading of the stage's variables leaves the stack-owned ones
    this process was started with as they are."""
    from chalice.cli.factory import CLIFactory

    given = {name: os.environ[name] for name in STACK_OWNED if name in os.environ}
    original = CLIFactory.load_chalice_app

    def load_chalice_app(
        self: Any, environment_variables: MutableMapping[str, str] | None = None, validate_feature_flags: bool = True
    ) -> Any:
        if environment_variables is not None:
            environment_variables = {**environment_variables, **given}
        return original(self, environment_variables, validate_feature_flags)

    CLIFactory.load_chalice_app = load_chalice_app  # type: ignore[method-assign,assignment]
