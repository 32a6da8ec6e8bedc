"""Lazily built singletons are built once, even when threads ask for them first together."""

from __future__ import annotations

import threading
import time

from chalicelib.core.caching import locked_cache


def test_threads_asking_first_together_get_one_value_built_once():
    built = []
    start = threading.Barrier(8)

    @locked_cache
    def environment(name: str) -> object:
        built.append(name)
        time.sleep(0.05)  # a build long enough for every thread to miss
        return object()

    results: list[object] = []

    def ask() -> None:
        start.wait()
        results.append(environment("templates"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["templates"]
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert environment("other") is not results[0] and built == ["templates", "other"]
    environment.cache_clear()
    assert environment("templates") is not results[0] and built[-1] == "templates"
