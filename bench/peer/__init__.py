"""Peer handlers for benchmarks: the same API built on other stacks. Never shipped."""
