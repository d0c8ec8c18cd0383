"""Kafka TLS and SASL from the settings, for Faust (broker credentials) and for plain aiokafka clients.

One translation, Faust's own (``credentials_to_aiokafka_auth``), serves both, so the worker and the
simulators, audit and topic creation always connect the same way.
"""

from __future__ import annotations

import ssl

from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from faust.types.auth import CredentialsT

from streams.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A verifying client context (CA, optional client certificate), or None for PLAINTEXT/SASL_PLAINTEXT."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    context.check_hostname = settings.kafka_ssl_check_hostname
    if settings.kafka_ssl_certfile and settings.kafka_ssl_keyfile:
        context.load_cert_chain(str(settings.kafka_ssl_certfile), str(settings.kafka_ssl_keyfile))
    return context


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """What the Faust app gets as ``broker_credentials``; None = PLAINTEXT."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return SSLCredentials(ssl_context(settings))
    return SASLCredentials(username=settings.kafka_sasl_username,
                           password=settings.kafka_sasl_password.get_secret_value(),
                           mechanism=settings.kafka_sasl_mechanism, ssl_context=ssl_context(settings))


def aiokafka_auth(settings: Settings) -> dict:
    """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient."""
    return dict(credentials_to_aiokafka_auth(faust_credentials(settings)))


def worker_acls(principal: str, group: str, topic_prefix: str = "") -> list[list[str]]:
    """The ACLs a worker's principal needs on an Apache Kafka with an authorizer, as arguments to Kafka's
    ``kafka-acls.sh`` (after ``--bootstrap-server … --command-config …``): read, write and describe on
    this project's topics (inputs, outputs and their dead letters, named literally: nothing else), and
    read on its consumer group. Idempotent writes need nothing more on Kafka 2.8 and later (KIP-679: write
    on a topic implies them)."""
    from streams.topic_names import every_topic

    topics = [a for name, _ in every_topic(topic_prefix) for a in ("--topic", name)]
    return [["--add", "--allow-principal", principal, "--operation", "Read", "--operation", "Write",
             "--operation", "Describe", *topics],
            ["--add", "--allow-principal", principal, "--operation", "Read", "--group", group]]
