"""Operator tooling for leadflow (dead letters, ...). Dev/ops only: never shipped to Lambda."""
