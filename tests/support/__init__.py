"""Helpers shared by the test suites (not fixtures: those stay in conftest files)."""
