"""A project-managed Apache Kafka: the broker our users run, without Docker.

The broker's jars (``org.apache.kafka:kafka_2.13`` and what it needs) are resolved by Maven from Maven
Central at a pinned version into a cache (``~/.cache/claims-dispatch/kafka/<version>``, or
``CLAIMS_KAFKA_JARS_CACHE``) on first use, with Maven's checksum checks made strict. A node runs in KRaft
mode (broker and controller in one process) in the state folder, on free loopback ports; ``Cluster`` starts
one or three nodes and stops, kills, pauses and restarts them (the fault drills).

Seen here (2-core machine, Java 17): a node answers 2-4 s after it starts and holds 335-400 MB at
``-Xmx512m``; SIGTERM stops it in about 2 s.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from streams.embedded_stack import _die_with_parent, free_port

#: The versions this project runs: 4.1.1 (the default, what docker-compose.yml pins and the suites run on) and
#: 3.9.1, the last 3.x (a node with kcat in tests/integration/test_apache_kafka.py).
VERSIONS = ("3.9.1", "4.1.1")
DEFAULT_VERSION = "4.1.1"
#: Kafka's own logging goes through SLF4J; 4.x binds log4j 2 (this bridge), 3.9 logs nothing without one.
_LOG4J = "2.24.3"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>claims-dispatch</groupId><artifactId>apache-kafka</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{log4j}</version></dependency>{tools}
  </dependencies>
</project>
"""

_LOG_CONFIG = """status = error
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
"""


#: Kafka's command-line tools (kafka-acls.sh's AclCommand among them) left the core jar for kafka-tools in 4.0.
_TOOLS = """
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId>
      <version>{version}</version></dependency>"""


def _wanted(version: str) -> tuple[str, ...]:
    """Jars whose presence says the cache holds ``version`` whole (the broker's; 4.x also its tools)."""
    return ("kafka_2.13-", "kafka-tools-") if not version.startswith("3.") else ("kafka_2.13-",)


def cache_dir() -> Path:
    return Path(os.environ.get("CLAIMS_KAFKA_JARS_CACHE") or Path.home() / ".cache/claims-dispatch/kafka")


def jars(version: str = DEFAULT_VERSION) -> list[Path]:
    """The broker's class path for ``version``, resolved by Maven into the cache the first time."""
    if version not in VERSIONS:
        raise ValueError(f"Apache Kafka {version} is not one this project runs; choose one of {', '.join(VERSIONS)}")
    target = cache_dir() / version
    done = target / ".resolved"
    if not done.exists() or not all(any(target.glob(f"{w}[0-9]*.jar")) for w in _wanted(version)):
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("Apache Kafka's jars are resolved with Maven, which is not installed "
                               "(Debian: apt-get install maven)")
        staging = Path(tempfile.mkdtemp(prefix=f"kafka-{version}-", dir=cache_dir().parent
                                        if cache_dir().parent.exists() else None))
        tools = _TOOLS.format(version=version) if "kafka-tools-" in _wanted(version) else ""
        (staging / "pom.xml").write_text(_POM.format(version=version, log4j=_LOG4J, tools=tools))
        out = subprocess.run([mvn, "-q", "-B", "--strict-checksums", "-f", str(staging / "pom.xml"),
                              "dependency:copy-dependencies", f"-DoutputDirectory={staging / 'libs'}"],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"Maven could not resolve Apache Kafka {version}:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(staging / "libs"), str(target))
        shutil.rmtree(staging, ignore_errors=True)
        done.write_text("\n".join(sorted(p.name for p in target.glob("*.jar"))) + "\n")
    found = sorted(target.glob("*.jar"))
    if not all(any(p.name.startswith(w) for p in found) for w in _wanted(version)):
        raise RuntimeError(f"the cached Apache Kafka {version} in {target} is incomplete: remove it to resolve again")
    return found


@dataclass(frozen=True)
class Security:
    """A secured client listener: SASL_SSL with SCRAM-SHA-512 users (made at format time: KRaft has no
    ZooKeeper to create them in), TLS from PEM files, and the standard authorizer, so that only what an
    ACL allows is allowed. ``admin`` is the super user the brokers themselves talk as; the controller
    listener stays plaintext on loopback, and its principal (ANONYMOUS) is a super user too, as KRaft's
    authorizer asks of the controllers' own traffic."""

    users: dict[str, str]  # name -> password, the admin's among them
    cert: Path             # the broker's certificate (PEM, for 127.0.0.1)
    key: Path              # its unencrypted PKCS#8 key
    ca: Path               # the CA clients and brokers verify it with
    admin: str = "admin"


@dataclass
class Node:
    node_id: int
    port: int
    controller_port: int
    folder: Path
    proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _cluster_id() -> str:
    """A random cluster id as Kafka's own ``Uuid.randomUuid`` makes them: one in 64 base64 ids starts with '-',
    which ``kafka-storage format -t`` reads as the next option and refuses."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


@dataclass
class Cluster:
    """One or three KRaft nodes in ``folder`` (``replication``: the topics' replication factor the cluster
    can hold: ``min(3, nodes)``)."""

    folder: Path
    nodes: list[Node] = field(default_factory=list)
    version: str = DEFAULT_VERSION
    heap: str = "512m"
    security: Security | None = None

    @property
    def bootstrap(self) -> str:
        return ",".join(n.address for n in self.nodes)

    @property
    def replication(self) -> int:
        return min(3, len(self.nodes))

    @classmethod
    def start(cls, folder: Path, nodes: int = 1, version: str = DEFAULT_VERSION, timeout_s: float = 60.0,
              security: Security | None = None) -> "Cluster":
        """Format and start ``nodes`` nodes; returns once every one answers."""
        folder.mkdir(parents=True, exist_ok=True)
        cluster = cls(folder, [Node(i + 1, free_port(), free_port(), folder / f"node-{i + 1}") for i in range(nodes)],
                      version, security=security)
        classpath = os.pathsep.join(str(p) for p in jars(version))
        (folder / "log4j2.properties").write_text(_LOG_CONFIG)
        cluster_id = _cluster_id()
        try:
            for n in cluster.nodes:
                cluster._configure(n)
                scram = [a for name, pw in (security.users.items() if security else ())
                         for a in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={pw}]")]
                out = subprocess.run(cluster._java(classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                                                   "-c", str(n.folder / "server.properties"), *scram),
                                     capture_output=True, text=True, timeout=120)
                if out.returncode != 0:
                    raise RuntimeError(f"formatting Kafka node {n.node_id} failed:\n{out.stdout}{out.stderr}")
            for n in cluster.nodes:
                cluster.start_node(n, classpath)
            cluster.wait_ready(timeout_s)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _java(self, classpath: str, *args: str) -> list[str]:
        java = shutil.which("java") or "java"
        return [java, f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
                f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}", "-cp", classpath, *args]

    def _configure(self, n: Node) -> None:
        voters = ",".join(f"{m.node_id}@127.0.0.1:{m.controller_port}" for m in self.nodes)
        rf = self.replication
        n.folder.mkdir(parents=True, exist_ok=True)
        client = "SASL_SSL" if self.security else "PLAINTEXT"
        (n.folder / "server.properties").write_text("\n".join([
            "process.roles=broker,controller",
            f"node.id={n.node_id}",
            f"listeners={client}://127.0.0.1:{n.port},CONTROLLER://127.0.0.1:{n.controller_port}",
            f"advertised.listeners={client}://127.0.0.1:{n.port}",
            f"inter.broker.listener.name={client}",
            "controller.listener.names=CONTROLLER",
            f"listener.security.protocol.map=CONTROLLER:PLAINTEXT,{client}:{client}",
            *self._security_properties(n),
            f"controller.quorum.voters={voters}",
            f"log.dirs={n.folder / 'data'}",
            f"offsets.topic.replication.factor={rf}",
            f"transaction.state.log.replication.factor={rf}",
            f"transaction.state.log.min.isr={min(2, rf)}",
            f"default.replication.factor={rf}",
            f"min.insync.replicas={min(2, rf)}",
            "auto.create.topics.enable=false",
            # A consumer group's first join is not held back waiting for more members (tests and demos join
            # one worker at a time; a deployment keeps the 3 s default).
            "group.initial.rebalance.delay.ms=0",
            "",
        ]))

    def _security_properties(self, n: Node) -> list[str]:
        sec = self.security
        if sec is None:
            return []
        keystore = n.folder / "keystore.pem"  # Kafka's PEM key store: the key, then the certificate chain
        n.folder.mkdir(parents=True, exist_ok=True)
        keystore.write_text(sec.key.read_text() + sec.cert.read_text())
        keystore.chmod(0o600)
        return [
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram."
            f'ScramLoginModule required username="{sec.admin}" password="{sec.users[sec.admin]}";',
            "ssl.keystore.type=PEM", f"ssl.keystore.location={keystore}",
            "ssl.truststore.type=PEM", f"ssl.truststore.location={sec.ca}",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            f"super.users=User:{sec.admin};User:ANONYMOUS",
            "allow.everyone.if.no.acl.found=false",
        ]

    def admin_properties(self) -> Path:
        """A client configuration for Kafka's own tools as the admin (ACLs are made with it)."""
        sec = self.security
        path = self.folder / "admin.properties"
        path.write_text("\n".join([
            "security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{sec.admin}" password="{sec.users[sec.admin]}";',
            "ssl.truststore.type=PEM", f"ssl.truststore.location={sec.ca}", ""]))
        path.chmod(0o600)
        return path

    @property
    def acl_tool(self) -> str:
        """kafka-acls.sh's class: moved from core to tools in 4.0."""
        return "kafka.admin.AclCommand" if self.version.startswith("3.") else "org.apache.kafka.tools.AclCommand"

    def tool(self, main_class: str, *args: str, timeout_s: float = 120) -> str:
        """Run one of Kafka's own command-line tools (a class on the broker's class path); its output."""
        classpath = os.pathsep.join(str(p) for p in jars(self.version))
        out = subprocess.run(self._java(classpath, main_class, *args), capture_output=True, text=True,
                             timeout=timeout_s)
        if out.returncode != 0:
            raise RuntimeError(f"{main_class} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
        return out.stdout

    def start_node(self, n: Node, classpath: str | None = None) -> None:
        classpath = classpath or os.pathsep.join(str(p) for p in jars(self.version))
        log = open(n.folder / "kafka.log", "ab")
        n.proc = subprocess.Popen(self._java(classpath, "kafka.Kafka", str(n.folder / "server.properties")),
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  preexec_fn=_die_with_parent, start_new_session=True)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until every running node accepts connections and the cluster answers for its metadata."""
        deadline = time.monotonic() + timeout_s
        for n in self.nodes:
            while True:
                if n.proc is not None and n.proc.poll() is not None:
                    raise RuntimeError(f"Kafka node {n.node_id} exited with {n.proc.returncode}; see "
                                       f"{n.folder / 'kafka.log'}")
                try:
                    socket.create_connection(("127.0.0.1", n.port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"Kafka node {n.node_id} did not listen within {timeout_s} s; see "
                                           f"{n.folder / 'kafka.log'}") from None
                    time.sleep(0.1)

    def leader(self) -> Node:
        """The node leading the metadata quorum (KRaft's active controller), as the running nodes' quorum
        state says (``leaderId`` in ``__cluster_metadata-0/quorum-state``, written on every election)."""
        votes = {}
        for n in self.nodes:
            if n.proc is None or n.proc.poll() is not None:
                continue
            try:
                state = json.loads((n.folder / "data" / "__cluster_metadata-0" / "quorum-state").read_text())
            except (OSError, ValueError):
                continue
            if state.get("leaderId", -1) >= 0:
                votes[state["leaderId"]] = max(votes.get(state["leaderId"], -1), state.get("leaderEpoch", 0))
        if not votes:
            raise RuntimeError("no running node knows a metadata quorum leader")
        leader_id = max(votes, key=votes.get)  # the newest epoch's leader
        return next(n for n in self.nodes if n.node_id == leader_id)

    def restart(self, n: Node, timeout_s: float = 60.0) -> None:
        """Start a stopped or killed node again on its ports and data; returns once it listens."""
        self.start_node(n)
        self.wait_ready(timeout_s)

    def start_all(self, timeout_s: float = 60.0) -> None:
        """Start every node that is not running (after ``stop``: a whole cluster's restart)."""
        classpath = os.pathsep.join(str(p) for p in jars(self.version))
        for n in self.nodes:
            if n.proc is None or n.proc.poll() is not None:
                self.start_node(n, classpath)
        self.wait_ready(timeout_s)

    def kill(self, n: Node, sig: int = signal.SIGKILL) -> None:
        if n.proc is not None and n.proc.poll() is None:
            n.proc.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                n.proc.wait(30)

    def stop(self) -> None:
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                n.proc.send_signal(signal.SIGCONT)  # a paused node cannot stop
                n.proc.terminate()
        for n in self.nodes:
            if n.proc is not None:
                try:
                    n.proc.wait(20)
                except subprocess.TimeoutExpired:
                    n.proc.kill()
                    n.proc.wait()
