"""Find the app's event handlers from the Chalice app object itself.

The app is loaded the way `chalice local` loads it (CLIFactory with the
stage's environment variables), so any Chalice project works and a new
decorated handler needs no extra wiring.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.app import Chalice, DynamoDBEventConfig, SNSEventConfig, SQSEventConfig
from chalice.cli.factory import CLIFactory

from devstack.events import clients
from devstack.events.invoker import Function
from devstack.provision import LOCAL_ACCOUNT

log = logging.getLogger("devstack.runtime")

DEFAULT_TIMEOUT_SECONDS = 60
DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True)
class LoadedApp:
    app: Chalice
    config: Any
    stage: str


def load_app(project_dir: Path, stage: str) -> LoadedApp:
    factory = CLIFactory(str(project_dir), environ=os.environ)  # as `chalice local`: the stage env applies
    config = factory.create_config_obj(chalice_stage_name=stage)
    return LoadedApp(app=config.chalice_app, config=config, stage=stage)


def function_for(loaded: LoadedApp, name: str) -> Function:
    """The Lambda function Chalice would deploy for this handler."""
    scoped = loaded.config.scope(loaded.stage, name)
    function_name = f"{loaded.app.app_name}-{loaded.stage}-{name}"
    return Function(
        name=name,
        handler=loaded.app.handler_map[name],
        function_name=function_name,
        function_arn=f"arn:aws:lambda:{clients.region()}:{LOCAL_ACCOUNT}:function:{function_name}",
        timeout_seconds=int(scoped.lambda_timeout or DEFAULT_TIMEOUT_SECONDS),
        memory_mb=int(scoped.lambda_memory_size or DEFAULT_MEMORY_MB),
    )


def event_sources(app: Chalice) -> list[Any]:
    """The stream, queue and topic sources; anything else is reported as not run locally."""
    supported = (DynamoDBEventConfig, SQSEventConfig, SNSEventConfig)
    found = []
    for source in app.event_sources:
        if isinstance(source, supported):
            found.append(source)
        else:
            log.warning("not run locally: handler=%s (%s)", source.name, type(source).__name__)
    return found
