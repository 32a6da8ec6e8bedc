"""The environment an ops command runs the app's code in: the stage's variables.

Values already in the process environment win (an operator can export
overrides). The `local` stage defaults to the emulator of `make run`
(LEADFLOW_AWS_PORT, else the port the running `make run` took, else 4566)
with the emulator's dummy credentials.
"""

from __future__ import annotations

import os

from devstack.provision import LOCAL_REGION


def stage_variables(stage: str) -> dict[str, str]:
    from devstack.provision import stage_environment

    try:
        return stage_environment(stage)
    except KeyError:
        raise SystemExit(f"unknown stage {stage!r} (see .chalice/config.json)") from None


def local_port() -> str:
    """LEADFLOW_AWS_PORT, else the port of the running `make run` (its run file), else 4566."""
    from devstack.stack import running_stack

    if os.environ.get("LEADFLOW_AWS_PORT"):
        return os.environ["LEADFLOW_AWS_PORT"]
    running = running_stack()
    return str(running["aws_port"]) if running else "4566"


def local_defaults() -> dict[str, str]:
    from devstack import endpoints

    # The emulator's main process, and whichever of its processes serves DynamoDB (devstack/endpoints.py).
    main = os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{local_port()}"
    return {
        **endpoints.endpoint_env(main),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
    }


def configure(stage: str) -> None:
    """Put the stage's variables in os.environ (without overriding) and reset the app's caches."""
    values = stage_variables(stage)
    if stage == "local":
        if not os.environ.get("AWS_ENDPOINT_URL"):
            # Never let a real profile answer for the emulator.
            os.environ.pop("AWS_PROFILE", None)
        # The emulator this machine's stack runs (LEADFLOW_AWS_PORT) over the stage's default one.
        values = {**values, **local_defaults()}
    for key, value in values.items():
        if value and not os.environ.get(key):
            os.environ[key] = value
    reset_app_caches()
    if not os.environ.get("LEADS_STREAM_ARN") and os.environ.get("LEADS_TABLE"):
        os.environ["LEADS_STREAM_ARN"] = leads_stream_arn(os.environ["LEADS_TABLE"])


def leads_stream_arn(table: str) -> str:
    from chalicelib.core import aws

    try:
        return str(aws.dynamodb().describe_table(TableName=table)["Table"].get("LatestStreamArn", ""))
    except Exception:  # noqa: BLE001 - only the stream redrive needs it; it says so then
        return ""


def reset_app_caches() -> None:
    from chalicelib.core import aws, settings

    settings.get_settings.cache_clear()
    aws.forget_clients()
