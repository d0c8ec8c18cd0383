"""Real TLS for the security tests: a private CA, PostgreSQL serving TLS only, a TLS terminator for Kafka.

Tansu (the embedded broker) has no working TLS listener (docs/security.md), so the Kafka side is
the usual deployment shape of a TLS terminator in front of a plaintext broker: clients speak TLS
to the terminator, which the broker advertises as its address, and plaintext never leaves it.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path


def make_certs(folder: Path) -> Certs:
    """A CA and a server certificate for localhost / 127.0.0.1 signed by it (openssl CLI)."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=claims-dispatch test CA",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr")
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key")


class TlsPostgres:
    """A PostgreSQL that accepts TLS connections only, on 127.0.0.1:``port``.

    pgserver's PostgreSQL is built without SSL ("SSL is not supported by this build"), so this is
    Debian's PostgreSQL (the ``postgresql`` package, installed by .ci/run when missing).
    """

    def __init__(self, certs: Certs, port: int) -> None:
        # Not under pytest's tmp folder: that is private to root, and PostgreSQL runs as another user.
        self.folder = Path(tempfile.mkdtemp(prefix="claims-tls-postgres-"))
        self.certs, self.port = certs, port
        self.pgdata = self.folder / "pgdata"
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            raise RuntimeError("Debian's postgresql package is needed for the TLS tests (apt-get install postgresql)")
        self.bin = bins[-1].parent
        self.user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root; pgserver runs it as this user too
            self.user = "pgserver"
            try:
                pwd.getpwnam(self.user)
            except KeyError:
                subprocess.run(["useradd", "-s", "/bin/false", self.user], check=True, capture_output=True)

    def _run(self, *args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, user=self.user, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:1])} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> str:
        """Returns a verify-full URL."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for src, name in ((self.certs.server_cert, "server.crt"), (self.certs.server_key, "server.key")):
            shutil.copy(src, self.folder / name)
            (self.folder / name).chmod(0o600)
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.folder, self.folder / "server.crt", self.folder / "server.key"):
                shutil.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
                  "--encoding=utf8")
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text("hostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 reject\n"
                       "hostssl all all ::1/128 trust\nhost all all ::1/128 reject\n")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-w", "-l", str(self.folder / "postgres.log"),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.folder}",
                  "-o", f"-c ssl=on -c ssl_cert_file={self.folder / 'server.crt'} "
                        f"-c ssl_key_file={self.folder / 'server.key'}", "start")
        return f"postgresql://postgres@localhost:{self.port}/postgres?sslmode=verify-full&sslrootcert={self.certs.ca}"

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


class TlsTerminator:
    """Accepts TLS on 127.0.0.1:``port`` and forwards the bytes to the plaintext 127.0.0.1:``target``."""

    def __init__(self, port: int, target: int, certs: Certs) -> None:
        self.port, self.target = port, target
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
        self.tls_sessions = 0  # connections that completed a TLS handshake
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> "TlsTerminator":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self._context), self._loop).result(10)
        return self

    async def _serve(self, client_r, client_w) -> None:
        self.tls_sessions += 1
        try:
            broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_w.close()
            return

        async def pipe(r, w) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(client_r, broker_w), pipe(broker_r, client_w))

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
