"""Infrastructure tooling (dev-only, never shipped to Lambda)."""
