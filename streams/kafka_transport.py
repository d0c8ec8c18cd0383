"""A Faust transport whose consumer takes its fetch wait from the settings.

Faust 0.15 builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` hard-coded.
On the embedded Tansu broker an empty fetch sleeps that long and is not woken by
new data (docs/embedded-broker.md: each hop +~750 ms), so the embedded profile wants ~10 ms.
This transport is registered under the ``faust.transports`` entry point
(pyproject.toml) as ``claimskafka://`` — Faust's supported seam for transports —
and only sets the wait on the consumer it creates, before that consumer starts; its producer is idempotent
where the broker supports it (``Settings.idempotence``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.app, "fetch_max_wait_ms", None)
        if wait_ms is not None:
            # aiokafka reads this when start() builds its Fetcher (aiokafka 0.13/0.14,
            # pinned in pyproject.toml); fail loudly if a new release renames it.
            if not hasattr(consumer, "_fetch_max_wait_ms"):
                raise RuntimeError("aiokafka changed: AIOKafkaConsumer._fetch_max_wait_ms is gone; update kafka_transport")
            consumer._fetch_max_wait_ms = int(wait_ms)
        return consumer


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Producer(faust_aiokafka.Producer):
    def _settings_extra(self) -> dict:
        # The idempotent producer where the broker has it (Settings.idempotence): a send retried after a
        # lost acknowledgement is written once. acks=all is what idempotence requires and what we use anyway.
        extra = dict(super()._settings_extra())
        if getattr(self.app, "producer_idempotence", False):
            extra.update(acks="all", enable_idempotence=True)
        return extra


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[type] = Consumer
    Producer: ClassVar[type] = Producer
