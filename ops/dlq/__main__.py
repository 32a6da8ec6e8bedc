"""`python -m ops.dlq` (make dlq)."""

from __future__ import annotations

import sys

from ops.dlq.cli import main

sys.exit(main())
