"""The local stack behind `make run`: emulator, provisioning, API, event runtime.

Dev-only: lives outside chalicelib/ so it never ships to Lambda.
"""
