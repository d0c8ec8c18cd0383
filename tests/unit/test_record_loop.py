"""The agents' loop control: which failures are waited out, and that events in hand are never given up."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, UnknownTopicOrPartitionError

from streams import metrics
from streams.agents import record_loop
from streams.agents.record_loop import _retrying, _unavailable, _until_done


BACKOFF = record_loop._backoff  # as written, before the fixture below replaces it


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(record_loop, "_backoff", lambda: iter(lambda: 0.0, None))  # 0, 0, ... for ever


def test_backoff_doubles_from_a_fifth_of_a_second_up_to_five():
    from itertools import islice

    assert list(islice(BACKOFF(), 7)) == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


def test_broker_and_database_outages_are_told_apart_from_bugs():
    assert _unavailable(KafkaTimeoutError()) == "broker"
    assert _unavailable(KafkaConnectionError()) == "broker"
    assert _unavailable(UnknownTopicOrPartitionError()) == "broker"
    assert _unavailable(asyncpg.exceptions.CannotConnectNowError()) == "database"
    assert _unavailable(ConnectionRefusedError()) == "database"
    assert _unavailable(ValueError("a bug")) is None
    assert _unavailable(asyncpg.exceptions.UniqueViolationError()) is None


def _flaky(failures: list[BaseException]):
    calls = []

    async def call():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "done"

    return call, calls


async def test_a_send_the_broker_did_not_confirm_is_retried_and_counted():
    before = metrics.BROKER_RETRIES.labels("unit")._value.get()
    call, calls = _flaky([KafkaTimeoutError(), KafkaTimeoutError()])
    assert await _retrying("unit", call) == "done"
    assert len(calls) == 3
    assert metrics.BROKER_RETRIES.labels("unit")._value.get() - before == 2


async def test_a_bug_is_not_retried_as_an_outage():
    call, calls = _flaky([ValueError("a bug")])
    with pytest.raises(ValueError):
        await _retrying("unit", call)
    assert len(calls) == 1


async def test_events_in_hand_are_taken_again_after_any_failure_outside_a_handler():
    before = metrics.AGENT_LOOP_ERRORS.labels("unit")._value.get()
    call, calls = _flaky([RuntimeError("ack failed"), ValueError("a bug in the loop")])
    await _until_done("unit", call)
    assert len(calls) == 3
    assert metrics.AGENT_LOOP_ERRORS.labels("unit")._value.get() - before == 2


async def test_a_worker_stopping_is_not_retried():
    call, calls = _flaky([asyncio.CancelledError()])
    with pytest.raises(asyncio.CancelledError):
        await _until_done("unit", call)
    assert len(calls) == 1
