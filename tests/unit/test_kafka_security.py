"""Kafka security settings → what Faust and aiokafka are given. (TLS runs for real in test_tls.py.)"""

import ssl

import pytest
from pydantic import ValidationError

from streams.kafka_security import aiokafka_auth, faust_credentials
from streams.settings import Settings


def test_plaintext_is_the_default():
    assert aiokafka_auth(Settings()) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(Settings()) is None


def test_sasl_over_tls_with_scram():
    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-256",
                        kafka_sasl_username="claims", kafka_sasl_password="s3cret")
    auth = aiokafka_auth(settings)
    assert {k: v for k, v in auth.items() if k != "ssl_context"} == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "claims", "sasl_plain_password": "s3cret"}
    context = auth["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_sasl_without_tls_has_no_ssl_context():
    auth = aiokafka_auth(Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN",
                                  kafka_sasl_username="u", kafka_sasl_password="p"))
    assert auth["security_protocol"] == "SASL_PLAINTEXT" and auth["ssl_context"] is None
    assert auth["sasl_mechanism"] == "PLAIN"


def test_the_worker_app_is_given_the_credentials():
    from streams.app import create_app

    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="claims",
                        kafka_sasl_password="s3cret")
    app, _rt = create_app(settings, "postgresql://unused", "kafka-1:9093,kafka-2:9093")
    credentials = app.conf.broker_credentials
    assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.username == "claims" and credentials.password == "s3cret"


def test_the_password_is_not_shown():
    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="claims",
                        kafka_sasl_password="s3cret")
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(faust_credentials(settings))


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLAIMS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("CLAIMS_KAFKA_SASL_USERNAME", "claims")
    monkeypatch.setenv("CLAIMS_KAFKA_SASL_PASSWORD", "from-env")
    assert aiokafka_auth(Settings())["sasl_plain_password"] == "from-env"


@pytest.mark.parametrize("given, message", [
    ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u"}, "CLAIMS_KAFKA_SASL_PASSWORD"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_certfile": "c.pem"}, "go together"),
    ({"kafka_ssl_cafile": "ca.pem"}, "use SSL or SASL_SSL"),
])
def test_incomplete_security_settings_are_refused_with_what_to_set(given, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**given)
