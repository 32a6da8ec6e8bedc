"""In-process moto, provisioned once per test process and restored for each test.

Provisioning deploys infra/resources.py's whole template through moto's
CloudFormation (~0.6 s); a few hundred unit tests each want a freshly
provisioned, empty AWS. So the first provisioning is copied (every moto
backend in use, deep-copied) and each later test gets a fresh copy of that copy
inside its own mock_aws: the same resources, nothing a previous test wrote.
"""

from __future__ import annotations

import _thread
import contextlib
import copy
import copyreg
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.base_backend import BackendDict

# Services whose state the snapshot leaves out: moto's CloudFormation keeps the deploy's
# stack (nothing in the unit tier reads it back) and holds locks in its events.
LEFT_OUT = frozenset({"cloudformation"})

Backends = dict[tuple[int, str, str], tuple[BackendDict[Any], Any]]


@contextlib.contextmanager
def _locks_copied_as_new() -> Iterator[None]:
    """deepcopy cannot copy a lock (SQS queues hold one); a copied backend gets a new, free lock.
    A Condition is rebuilt around the copy of its lock: copied field by field it would keep the
    old lock's acquire and release (builtin methods, which deepcopy does not copy)."""
    reductors: dict[type, Callable[[Any], tuple[Any, tuple[Any, ...]]]] = {
        type(threading.Lock()): lambda _lock: (threading.Lock, ()),
        type(threading.RLock()): lambda _lock: (threading.RLock, ()),
        _thread.LockType: lambda _lock: (threading.Lock, ()),
        threading.Condition: lambda condition: (threading.Condition, (condition._lock,)),  # type: ignore[attr-defined]
    }
    saved = {kind: copyreg.dispatch_table.get(kind) for kind in reductors}
    copyreg.dispatch_table.update(reductors)
    try:
        yield
    finally:
        for kind, previous in saved.items():
            if previous is None:
                copyreg.dispatch_table.pop(kind, None)
            else:
                copyreg.dispatch_table[kind] = previous


def _copied(backends: Backends) -> dict[tuple[int, str, str], Any]:
    """Each entry's backend, deep-copied in one deepcopy call: objects two services share stay shared."""
    with _locks_copied_as_new():
        return copy.deepcopy({key: backend for key, (_, backend) in backends.items()})


def take() -> Backends:
    """A deep copy of every region's backend of every service in use (one copy, shared references kept)."""
    found: Backends = {}
    for backend_dict in list(BackendDict._instances):  # type: ignore[misc]
        if backend_dict.service_name in LEFT_OUT:
            continue
        for account, per_account in dict.items(backend_dict):
            for region, backend in dict.items(per_account):
                found[(id(backend_dict), account, region)] = (backend_dict, backend)
    copies = _copied(found)
    return {key: (found[key][0], copies[key]) for key in found}


def restore(snapshot: Backends) -> None:
    """Put a fresh copy of `snapshot` into the (freshly reset) backends of the active mock."""
    copies = _copied(snapshot)
    for key, (backend_dict, _) in snapshot.items():
        _, account, region = key
        per_account = backend_dict[account]  # creates the account's (empty) backend map
        dict.__setitem__(per_account, region, copies[key])


class Provisioned:
    """The first call provisions and snapshots; every later call restores the snapshot."""

    def __init__(self, provision: Callable[[], dict[str, str]]) -> None:
        self._provision = provision
        self._snapshot: Backends | None = None
        self._env: dict[str, str] = {}

    def __call__(self) -> dict[str, str]:
        if self._snapshot is None:
            self._env = self._provision()
            self._snapshot = take()
        else:
            restore(self._snapshot)
        return dict(self._env)
