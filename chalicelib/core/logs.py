"""The app's logger. Personal data is masked before it is logged (see masking.py)."""

from __future__ import annotations

import logging
from functools import lru_cache


@lru_cache(maxsize=1)
def get_logger() -> logging.Logger:
    logger = logging.getLogger("leadflow")
    logger.setLevel(logging.INFO)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
    return logger
