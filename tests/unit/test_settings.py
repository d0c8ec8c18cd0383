from streams.settings import Settings


def test_embedded_profile_tunes_the_client_for_tansu(monkeypatch):
    monkeypatch.delenv("CLAIMS_KAFKA_PROFILE", raising=False)
    embedded = Settings(kafka_profile="embedded")
    assert (embedded.session_timeout_s, embedded.heartbeat_s, embedded.fetch_max_wait_ms) == (6.0, 1.0, 10)
    kafka = Settings(kafka_profile="kafka")
    assert kafka.fetch_max_wait_ms == 500 and kafka.session_timeout_s == 30.0


def test_nested_rules_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLAIMS_DISPATCH__ARRIVAL__URBAN_MINUTES", "25")
    assert Settings().dispatch.arrival.urban_minutes == 25


async def test_the_worker_consumer_uses_the_configured_fetch_wait():
    from streams.app import create_app

    app, _ = create_app(Settings(kafka_profile="embedded", kafka_fetch_max_wait_ms=7), "postgresql://x/y",
                        "127.0.0.1:1")
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    assert consumer._fetch_max_wait_ms == 7
    assert consumer._session_timeout_ms == 6000
    await consumer.stop()  # never started: releases nothing but keeps asyncio quiet


def test_the_event_loop_setting_chooses_the_loop_the_worker_runs_on():
    import subprocess
    import sys

    import pytest
    from pydantic import ValidationError

    # In a child process: the loop policy is process-wide, and this test session's loops must stay as they are.
    probe = ("import asyncio, sys; from streams.app import use_event_loop; from streams.settings import Settings;"
             "use_event_loop(Settings(event_loop=sys.argv[1])); loop = asyncio.new_event_loop();"
             "print(type(loop).__module__ + '.' + type(loop).__qualname__)")
    chosen = {name: subprocess.run([sys.executable, "-c", probe, name], capture_output=True, text=True,
                                   check=True).stdout.strip() for name in ("uvloop", "asyncio")}
    assert chosen == {"uvloop": "uvloop.Loop", "asyncio": "asyncio.unix_events._UnixSelectorEventLoop"}
    assert Settings().event_loop == "uvloop"
    with pytest.raises(ValidationError, match="event_loop"):
        Settings(event_loop="gevent")
