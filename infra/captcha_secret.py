"""The CAPTCHA secret: never in .chalice/config.json, taken from the deployer's environment.

A stage that sets CAPTCHA_PROVIDER needs its provider's secret in the API
function's CAPTCHA_SECRET. The deploy reads it from LEADFLOW_CAPTCHA_SECRET:
- `make deploy` (chalice deploy) writes it into the API function's
  environment right after `chalice deploy`, which sets the environment from
  config.json alone (for those few seconds CAPTCHA checks answer 503: loud,
  never a silent drop);
- `make deploy-package` passes it as the stack's NoEcho parameter
  CaptchaSecret, which the API function's environment references.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

FUNCTION_ENV = "CAPTCHA_SECRET"  # what the API function reads (chalicelib.core.settings)
DEPLOY_ENV = "LEADFLOW_CAPTCHA_SECRET"  # what the person deploying sets
PARAMETER = "CaptchaSecret"  # the packaged stack's parameter


def required(stage_env: Mapping[str, str]) -> bool:
    return bool(stage_env.get("CAPTCHA_PROVIDER", "").strip())


def problems(stage_env: Mapping[str, str], environ: Mapping[str, str] | None = None) -> list[str]:
    """What is wrong with the stage's CAPTCHA secret before deploying."""
    environ = os.environ if environ is None else environ
    found = []
    if stage_env.get(FUNCTION_ENV, "").strip():
        found.append(f"{FUNCTION_ENV} is in .chalice/config.json: remove it (a secret is never committed) and "
                     f"set {DEPLOY_ENV} in the environment of the deploy instead")
    if required(stage_env) and not environ.get(DEPLOY_ENV, "").strip():
        found.append(f"CAPTCHA_PROVIDER is {stage_env['CAPTCHA_PROVIDER']} but {DEPLOY_ENV} is not set: "
                     "deploy with the provider's secret in it")
    return found


def parameter() -> dict[str, Any]:
    return {
        "Type": "String",
        "NoEcho": True,
        "Default": "",
        "Description": f"the CAPTCHA provider's secret ({DEPLOY_ENV}); the API function's {FUNCTION_ENV}",
    }


def apply(lambda_client: Any, function_name: str, secret: str) -> bool:
    """Put the secret into the function's environment, keeping every other variable; True if it changed."""
    waiter = lambda_client.get_waiter("function_updated_v2")
    waiter.wait(FunctionName=function_name)  # chalice deploy's own update may still be in progress
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    variables = dict(config.get("Environment", {}).get("Variables", {}))
    if variables.get(FUNCTION_ENV) == secret:
        return False
    variables[FUNCTION_ENV] = secret
    lambda_client.update_function_configuration(FunctionName=function_name, Environment={"Variables": variables})
    waiter.wait(FunctionName=function_name)
    return True
