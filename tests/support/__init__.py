"""Reusable test code (AWS, stacks, browsers, the mail viewer's API, SMTP, ...).

conftest files only wire it into fixtures.
"""
