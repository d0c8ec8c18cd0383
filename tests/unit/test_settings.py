from streams.settings import Settings


def test_embedded_profile_tunes_the_client_for_tansu(monkeypatch):
    monkeypatch.delenv("CLAIMS_KAFKA_PROFILE", raising=False)
    embedded = Settings(kafka_profile="embedded")
    assert (embedded.session_timeout_s, embedded.heartbeat_s, embedded.fetch_max_wait_ms) == (2.0, 0.5, 10)
    kafka = Settings(kafka_profile="kafka")
    assert kafka.fetch_max_wait_ms == 500 and kafka.session_timeout_s == 30.0


async def test_the_worker_producer_is_idempotent_on_apache_kafka_and_not_on_tansu(monkeypatch):
    from streams.app import create_app

    for var in ("CLAIMS_KAFKA_PROFILE", "CLAIMS_KAFKA_IDEMPOTENCE", "CLAIMS_BROKER", "CLAIMS_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(var, raising=False)
    assert not Settings().idempotence  # Tansu started here
    assert not Settings(kafka_profile="embedded", kafka_bootstrap="h:1").idempotence
    assert Settings(broker="kafka").idempotence and Settings(kafka_bootstrap="h:1").idempotence
    assert not Settings(kafka_bootstrap="h:1", kafka_idempotence=False).idempotence
    for settings, wanted in ((Settings(kafka_bootstrap="h:1"), True),
                             (Settings(kafka_profile="embedded", kafka_bootstrap="h:1"), False)):
        app, _ = create_app(settings, "postgresql://x/y", "127.0.0.1:1")
        made = app.producer._new_producer()
        assert made._txn_manager is not None if wanted else made._txn_manager is None  # aiokafka's idempotence
        await made.stop()


def test_nested_rules_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLAIMS_DISPATCH__ARRIVAL__URBAN_MINUTES", "25")
    assert Settings().dispatch.arrival.urban_minutes == 25


def test_null_in_the_environment_turns_an_optional_rule_off(monkeypatch):
    assert Settings().dispatch.return_to_base_km == 2
    monkeypatch.setenv("CLAIMS_DISPATCH__RETURN_TO_BASE_KM", "null")
    assert Settings().dispatch.return_to_base_km is None


async def test_the_worker_consumer_uses_the_configured_fetch_wait():
    from streams.app import create_app

    app, _ = create_app(Settings(kafka_profile="embedded", kafka_fetch_max_wait_ms=7), "postgresql://x/y",
                        "127.0.0.1:1")
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    assert consumer._fetch_max_wait_ms == 7
    assert consumer._session_timeout_ms == 2000
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


def test_a_worker_starts_without_loading_matplotlib_and_draws_charts_with_it():
    """matplotlib (0.4 s of imports) is loaded when the monthly report draws a chart, not on the way to a
    worker's first assignment."""
    import subprocess
    import sys

    probe = ("import sys; import streams.app, streams.cli; print('matplotlib' in sys.modules);"
             "from streams.reports import charts;"
             "uri = charts.findings_by_department({'findings': {'by_department': {'claims': {'open': 2, 'closed': 1}}}});"
             "print('matplotlib' in sys.modules, uri.startswith('data:image/png;base64,'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "True"]
