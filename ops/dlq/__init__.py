"""Dead letters for operators: `make dlq` (python -m ops.dlq), a thin layer over
chalicelib/pipeline/dead_letters.py, which the admin API uses too.

    python -m ops.dlq list [--queue notifications|lead-stream|lead-audit|ses-feedback] [--stage local]
    python -m ops.dlq redrive (--all | MESSAGE_ID ...) [--queue ...] [--stage ...] [--invoke-lambda]
    python -m ops.dlq purge (--all | MESSAGE_ID ...) --queue ... [--stage ...] [--yes]

By job: listing.py (what is where and why), redriving.py (sending back, and
purging what will never succeed), stream.py (replaying the stream DLQs'
records, which hold only a shard and sequence range), cli.py (arguments, and
one-line answers to ordinary mistakes). The names below are what scripts and
tests use.
"""

from __future__ import annotations

from chalicelib.pipeline.dead_letters import QUEUES, DeadLetter, RedriveResult, Report, lead_id_of
from ops.dlq.listing import list_letters
from ops.dlq.redriving import purge, redrive

__all__ = ["QUEUES", "DeadLetter", "RedriveResult", "Report", "lead_id_of", "list_letters", "purge", "redrive"]
