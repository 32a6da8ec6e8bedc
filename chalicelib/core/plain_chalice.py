"""Plain `chalice package` and `chalice deploy`, caught before they do harm.

Plain `chalice package` leaves out the tables, topics, queues and the mapping
settings Chalice cannot express, and plain `chalice deploy` cannot create
them; `make package` and `make deploy` (infra/, which set
LEADFLOW_DEPLOY_TOOL) can. app.py calls this only off Lambda; under anything
but the chalice CLI it does nothing.
"""

from __future__ import annotations

import os
import sys


def refuse_incomplete_commands() -> None:
    if os.environ.get("LEADFLOW_DEPLOY_TOOL"):
        return
    command = sys.argv[1:] if os.path.basename(sys.argv[0]) == "chalice" else []
    stage = next((command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "--stage"), "dev")
    if "package" in command:
        sys.exit(f"leadflow: use `make package STAGE={stage}`: plain `chalice package` leaves out the tables, "
                 "queues and event-source settings (infra/DEPLOY.md)")
    if "deploy" in command and not os.environ.get("LEADS_STREAM_ARN"):
        sys.exit(f"leadflow: use `make deploy STAGE={stage}`: stage {stage} has no resources yet, and plain "
                 "`chalice deploy` cannot create them (infra/DEPLOY.md)")
    if "deploy" in command:
        print(f"leadflow: plain `chalice deploy` updates code and keeps the event-source settings; "
              f"`make deploy STAGE={stage}` also re-checks them and the API's settings", file=sys.stderr)
