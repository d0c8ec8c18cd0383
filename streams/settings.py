"""The one settings class: environment variables with the CLAIMS_ prefix, working local defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.dispatch.scene_times import SceneTimeRules
from models.dispatch.trip_learning import LearningRules
from models.callbacks.rules import CallbackRules
from models.desk.rules import DeskRules
from models.dispatch.rules import DispatchRules
from models.working_days import WorkingDays


class DeskToken(BaseModel):
    """One person's access to the desk: the SHA-256 of their token (the token itself is never stored), who
    they are to the audit, and what they may do (viewer: look; dispatcher: send commands; supervisor: also
    force a refusal that may be forced)."""

    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    dispatcher_id: str = Field(min_length=1, max_length=64)
    role: Literal["viewer", "dispatcher", "supervisor"] = "dispatcher"


class DeskSettings(BaseModel):
    """The desk's API and console (``claims-dispatch desk serve``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8088, description="The desk's API and console.")
    tokens: list[DeskToken] = Field(default_factory=list,
                                    description="CLAIMS_DESK__TOKENS as JSON; no token, no access.")
    wait_for_result_s: float = Field(default=10.0, ge=0, le=60,
                                     description="How long POST /api/commands waits for the result.")


class Settings(BaseSettings):
    """Configuration of every claims-dispatch process.

    Nested values use ``__``: ``CLAIMS_DISPATCH__ARRIVAL__URBAN_MINUTES=25``.
    """

    # "null" sets an optional number to None (CLAIMS_DISPATCH__RETURN_TO_BASE_KM=null: no drives back to base).
    model_config = SettingsConfigDict(env_prefix="CLAIMS_", env_nested_delimiter="__", extra="ignore",
                                      env_parse_none_str="null")

    kafka_bootstrap: str | None = Field(default=None, description="host:port[,host:port]; unset = a broker this "
                                                                   "process starts (CLAIMS_BROKER).")
    broker: Literal["tansu", "kafka"] = Field(
        default="tansu", description="The broker started when CLAIMS_KAFKA_BOOTSTRAP is unset: Tansu (light, in "
                                     "memory) or a project-managed Apache Kafka (jars resolved by Maven).")
    kafka_version: str = Field(default="4.1.1", description="The project-managed Apache Kafka's version (3.9.1 or "
                                                            "4.1.1).")
    kafka_nodes: Literal[1, 3] = Field(default=1, description="Nodes of the project-managed Apache Kafka: 3 gives "
                                                              "replicated topics (factor 3, min.insync.replicas 2).")
    database_url: str | None = Field(default=None, description="postgresql://...; unset = embedded pgserver.")
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$",
                              description="A namespace before every topic name (streams/topic_names.py); empty: "
                                          "the contract's names.")
    state_dir: Path = Field(default=Path(".claims-dispatch"), description="Embedded data, stack.json, faust data.")

    #: "embedded" tunes the Kafka client for the Tansu broker (docs/embedded-broker.md): it holds a
    #: JoinGroup for half the session timeout, and an empty fetch is not woken by new data.
    kafka_profile: Literal["kafka", "embedded"] = "kafka"
    #: Embedded: 2 s, so that a worker's first join (and a rejoin after a rebalance) waits 1 s, not 3 as with 6 s
    #: (a plain aiokafka consumer joining on Tansu: 1.0, 2.0, 3.0, 5.0 and 15.0 s with sessions of 2, 3, 6, 10
    #: and 30 s). Faust heartbeats from its consumer's own thread, which gets the GIL every
    #: ``gil_switch_interval_s``, so a busy event loop does not starve it.
    kafka_session_timeout_s: float | None = Field(default=None, description="Default: 2 embedded, 30 kafka.")
    kafka_heartbeat_s: float | None = Field(default=None, description="Default: 0.5 embedded, 3 kafka.")
    kafka_fetch_max_wait_ms: int | None = Field(default=None, description="Default: 10 embedded, 500 kafka.")
    #: How old the clients' cluster metadata may get. aiokafka (0.13, 0.14) retries a ListOffsets that a
    #: broker refused as no longer the leader without refreshing its metadata, so a consumer reset to the
    #: start of a partition whose leader moved waits for the next periodic refresh (300 s by default: a
    #: worker that joined after a broker restart consumed nothing for minutes, seen in the fault drills).
    kafka_metadata_max_age_ms: int = Field(default=5000, description="Cluster metadata refresh (ms).")
    #: The idempotent producer (a retried send is written once): Apache Kafka has it; Tansu does not
    #: implement InitProducerId (docs/embedded-broker.md), so the embedded profile leaves it off.
    kafka_idempotence: bool | None = Field(default=None, description="Default: on for kafka, off embedded.")

    #: Kafka security (streams/kafka_security.py). Apache Kafka's own names; see docs/security.md.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle (PEM); unset = the system's.")
    kafka_ssl_certfile: Path | None = Field(default=None, description="Client certificate (PEM), mutual TLS.")
    kafka_ssl_keyfile: Path | None = Field(default=None, description="Client key (PEM), mutual TLS.")
    kafka_ssl_check_hostname: bool = True

    #: The cyclic garbage collector's first threshold in the worker (Python's default 700: a young-generation
    #: collection per 700 net container allocations). A batch keeps ~1,000 reports' objects alive while it
    #: runs, and each young collection walked them again: in a 40,000-report backlog 2.0 s of the worker's
    #: ~20 s of CPU went to ~3,000 collections (counted with gc.callbacks), against 0.1-0.3 s with 50,000, and
    #: validating a report took 35-47 us of CPU in the worker against 22-28 us. Objects are freed by reference
    #: counting as before; only cycles wait longer for the collector.
    gc_gen0_threshold: int = Field(
        default=50_000, ge=100, le=10_000_000,
        description="gc.set_threshold's first value for the worker (Python's default 700).")
    #: Faust's Kafka consumer runs in a thread of its own and hands fetched records to the worker's event
    #: loop, which needs the GIL the busy loop holds; Python hands the GIL over every switch interval
    #: (5 ms by default). Measured on the intake backlog (docs/performance.md): see there.
    gil_switch_interval_s: float = Field(
        default=0.0005, gt=0, le=0.1,
        description="sys.setswitchinterval for the worker: how long a busy thread keeps the GIL before the "
                    "Kafka consumer thread gets it.")
    #: The worker's asyncio event loop. uvloop (libuv) makes each PostgreSQL and broker round trip and each
    #: hand-over from the consumer thread cheaper; intake makes ~7 round trips to them a batch. Measured side by side
    #: (docs/performance.md): backlog 2203 and 2062/s vs 1607 and 1750/s on asyncio's own loop, batches at
    #: 200/s 13-18 ms vs 18-24 ms; the bare Faust pass-through +5% (it runs on the same setting).
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop", description="The worker's event loop: uvloop, or asyncio's own (the fallback).")
    app_id: str = Field(default="claims-dispatch", description="Kafka consumer group and Faust app id.")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, description="Worker web port: /metrics.")
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    db_pool_max: int = Field(default=10, ge=1)
    roster_refresh_s: float = Field(default=15.0, gt=0, description="How often workers reread regions and roster.")
    watchdog_interval_s: float = Field(default=2.0, gt=0, description="How often deadlines are checked.")
    board_interval_s: float = Field(
        default=10.0, gt=0,
        description="How often the dispatch and callback gauges (the dispatchers' board) are recomputed. They read "
                    "every region's state: every 2 s that pass alone delayed intake batches by 50-100 ms.")
    inbox_retention_days: float = Field(
        default=8.0, gt=0,
        description="Consumed event ids are kept this long: longer than the input topics keep their events "
                    "(Kafka's default retention is 7 days), or a replay from the start would apply them again.")
    outbox_retention_days: float = Field(
        default=2.0, gt=0, description="Published records are kept this long (unpublished ones until published).")
    travel_learning_interval_s: float = Field(
        default=300.0, gt=0, description="How often travel times are corrected again from the latest arrivals.")
    travel_learning: LearningRules = LearningRules()
    #: Time on scene per loss type, learned on the same timer (``models/dispatch/scene_times.py``).
    scene_time_learning: SceneTimeRules = SceneTimeRules()
    retention_interval_s: float = Field(default=3600.0, gt=0, description="How often old inbox and outbox rows are "
                                                                         "deleted.")
    fault_injection_report_ids: frozenset[str] = Field(
        default=frozenset(),
        description="Fault drills only: intake raises a bug-like error for these report ids (never set in production).",
    )
    fault_injection_publish_failures: dict[str, int] = Field(
        default_factory=dict,
        description="Fault drills only: the first N sends to each of these topics fail as if the broker had not "
                    "confirmed them in time (never set in production).",
    )

    dispatch: DispatchRules = DispatchRules()
    callbacks: CallbackRules = CallbackRules()
    calendar: WorkingDays = WorkingDays()
    desk_rules: DeskRules = DeskRules()
    desk: DeskSettings = DeskSettings()

    @model_validator(mode="after")
    def _kafka_security_complete(self) -> "Settings":
        if self.kafka_security_protocol.startswith("SASL_") and not (
                self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(f"CLAIMS_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                             "CLAIMS_KAFKA_SASL_USERNAME and CLAIMS_KAFKA_SASL_PASSWORD")
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("CLAIMS_KAFKA_SSL_CERTFILE and CLAIMS_KAFKA_SSL_KEYFILE go together (mutual TLS)")
        tls_files = self.kafka_ssl_cafile or self.kafka_ssl_certfile
        if tls_files and not self.kafka_security_protocol.endswith("SSL"):
            raise ValueError("CLAIMS_KAFKA_SSL_* files are set but CLAIMS_KAFKA_SECURITY_PROTOCOL is "
                             f"{self.kafka_security_protocol}; use SSL or SASL_SSL")
        return self

    @property
    def session_timeout_s(self) -> float:
        return self.kafka_session_timeout_s or (2.0 if self.kafka_profile == "embedded" else 30.0)

    @property
    def heartbeat_s(self) -> float:
        return self.kafka_heartbeat_s or (0.5 if self.kafka_profile == "embedded" else 3.0)

    @property
    def idempotence(self) -> bool:
        if self.kafka_idempotence is not None:
            return self.kafka_idempotence
        # Off on Tansu: tuned for it (the embedded profile) or started here without a bootstrap.
        return self.kafka_profile != "embedded" and not (self.kafka_bootstrap is None and self.broker == "tansu")

    @property
    def fetch_max_wait_ms(self) -> int:
        if self.kafka_fetch_max_wait_ms is not None:
            return self.kafka_fetch_max_wait_ms
        return 10 if self.kafka_profile == "embedded" else 500
