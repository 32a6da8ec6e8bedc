"""Reusable test helpers (browsers, the mail viewer's API); fixtures that wire them live in conftest files."""
