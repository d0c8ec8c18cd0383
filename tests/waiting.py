"""The one way a test waits: for a condition, with a deadline, saying what it waited for when it fails.

A test never sleeps in the hope that something has happened by then; it waits for the thing itself
(a row, a record, a metric, a log line), polled every ``every`` seconds."""

from __future__ import annotations

import asyncio
import inspect
import time


async def wait_for(predicate, timeout: float = 30.0, what: str = "condition", every: float = 0.05):
    """``predicate()``'s first truthy result; it may be a coroutine function (a database query)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(every)


def wait_until(predicate, timeout: float = 30.0, what: str = "condition", every: float = 0.05):
    """``wait_for`` for a test that drives processes without an event loop."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)
