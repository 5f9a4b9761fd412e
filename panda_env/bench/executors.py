"""Where independent trainings run: here, one after another (``local``, the default), or as Ray tasks
(``ray``) on a local Ray instance or a cluster.

``run_all(fn, arguments, executor)`` returns ``[fn(*a) for a in arguments]`` in order. With Ray each
call is one task that reserves ``cpus_per_task`` CPUs, so a node runs only as many trainings at once
as it has CPUs for; Ray is imported only then (the ``ray`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pytest_drlreward.util.extras import require

logger = logging.getLogger(__name__)
EXECUTORS = ("local", "ray")


def on_host(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """``(hostname, fn(*args))``: which machine ran a task."""
    return socket.gethostname(), fn(*args)


def _check(executor: str, address: str | None) -> None:
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; allowed values: {', '.join(EXECUTORS)}")
    if executor == "local" and address is not None:
        raise ValueError("--address needs --executor ray")


@contextlib.contextmanager
def executor_session(executor: str = "local", address: str | None = None) -> Iterator[None]:
    """For ``ray``: connect (or start a local instance) for the block, unless Ray already runs here."""
    _check(executor, address)
    if executor == "local":
        yield
        return
    ray = require("ray", "--executor ray", extra="ray")
    if ray.is_initialized():
        yield
        return
    start = time.perf_counter()
    ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False)
    logger.info("Ray started in %.1f s (%s)", time.perf_counter() - start, address or "a local instance")
    try:
        yield
    finally:
        ray.shutdown()


def run_all(fn: Callable[..., Any], arguments: Sequence[tuple], executor: str = "local", address: str | None = None,
            cpus_per_task: float = 1.0) -> list[tuple[str, Any]]:
    """``(hostname, fn(*a))`` for each argument tuple, in order; see the module docstring."""
    _check(executor, address)
    if executor == "local":
        return [on_host(fn, *args) for args in arguments]
    if not cpus_per_task > 0:
        raise ValueError(f"cpus_per_task must be positive, got {cpus_per_task!r}")
    with executor_session(executor, address):
        ray = require("ray", "--executor ray", extra="ray")
        task = ray.remote(num_cpus=cpus_per_task)(on_host)
        return ray.get([task.remote(fn, *args) for args in arguments])
