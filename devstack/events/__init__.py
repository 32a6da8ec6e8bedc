"""The local event runtime's parts: Lambda's event source mappings and SNS
subscriptions for a Chalice app, run on one machine against the emulator.

Dev-only: lives outside chalicelib/ so it never ships to Lambda.
"""
