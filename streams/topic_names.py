"""Topic names as the broker has them: the contract's names (models/contract/topics.py) under an optional
namespace, ``CLAIMS_TOPIC_PREFIX``, so that a second system (a demo beside a live one) can share a broker
without sharing a topic. Empty by default: the contract's names are the topics.

Every client maps at its edge: what it subscribes to and sends to goes through ``on_broker``, what it
receives through ``in_contract``; inside, code only ever sees the contract's names.
"""

from __future__ import annotations

import os

ENV = "CLAIMS_TOPIC_PREFIX"


def prefix() -> str:
    """The namespace of this process: the variable ``Settings.topic_prefix`` reads, read from the
    environment each time (the demo sets it for itself and the processes it starts)."""
    return os.environ.get(ENV, "")


def on_broker(name: str, namespace: str | None = None) -> str:
    return (prefix() if namespace is None else namespace) + name


def in_contract(name: str, namespace: str | None = None) -> str:
    ns = prefix() if namespace is None else namespace
    return name[len(ns):] if ns and name.startswith(ns) else name


def every_topic(namespace: str) -> list[tuple[str, int]]:
    """Every topic to create under ``namespace``, dead-letter topics included, with its partition count."""
    from models.contract.topics import all_topic_names

    return [(namespace + name, partitions) for name, partitions in all_topic_names()]
