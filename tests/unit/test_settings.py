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
