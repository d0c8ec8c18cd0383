"""The project-managed Apache Kafka's pure parts (the broker itself runs in the integration and fault suites)."""
import uuid

from streams import apache_kafka


def test_a_cluster_id_never_starts_with_a_dash_which_kafka_storage_would_read_as_an_option(monkeypatch):
    # 0xF8 makes the first base64 character '-': the id the format step refused in CI.
    ids = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x10" + bytes(15))])
    monkeypatch.setattr(apache_kafka.uuid, "uuid4", lambda: next(ids))
    cluster_id = apache_kafka._cluster_id()
    assert not cluster_id.startswith("-")
    assert cluster_id == "EAAAAAAAAAAAAAAAAAAAAA"
