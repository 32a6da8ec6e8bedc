"""Reusable test code (browsers, the mail viewer's API, SMTP, stacks); conftest files only wire it into fixtures."""
