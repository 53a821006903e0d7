"""``ragtrust audit verify | export | prune`` on the database the settings name."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import update
from typer.testing import CliRunner

from audit import export
from audit.log import RECORDS, AuditLog
from audit.records import ExportFormat
from audit.signing import KEY_FILE, SigningKeyMissing, signing_key
from rag.cli.main import app
from rag.core.settings import ROOT, Settings, get_settings
from rag.db import make_engine
from tests.audit.events import T0, event

runner = CliRunner()


@pytest.fixture
def log(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AuditLog]:
    """The audit log the CLI will open: same database, same generated signing key."""
    monkeypatch.setenv("RAGTRUST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAGTRUST_DATABASE_URL", db_url)
    get_settings.cache_clear()
    engine = make_engine(db_url)
    yield AuditLog.from_settings(get_settings(), engine)
    engine.dispose()
    get_settings.cache_clear()


def _seed(log: AuditLog) -> None:
    for i in range(6):
        log.append(event(i, at=T0 + timedelta(days=i)))
    log.append(event(0, "beta"))


def test_verify_reports_each_tenant_and_exits_1_at_a_broken_link(log: AuditLog) -> None:
    _seed(log)
    done = runner.invoke(app, ["audit", "verify"])
    assert done.exit_code == 0, done.output
    assert "acme: 6 records (seq 1..6)" in done.output and "beta: 1 records" in done.output
    with log._engine.begin() as conn:
        conn.execute(update(RECORDS).where(RECORDS.c.seq == 4).values(question="edited"))
    done = runner.invoke(app, ["audit", "verify", "--tenant", "acme"])
    assert done.exit_code == 1
    assert "acme: first broken link at seq 4: record altered" in done.output


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_writes_the_range_to_a_file_that_verifies(
    log: AuditLog, tmp_path: Path, fmt: ExportFormat
) -> None:
    _seed(log)
    out = tmp_path / f"acme.{fmt}"
    args = ["--tenant", "acme", "--from", "2025-03-02", "--to", "2025-03-05T00:00:00"]
    done = runner.invoke(app, ["audit", "export", *args, "--format", fmt, "--out", str(out)])
    assert done.exit_code == 0, done.output
    with out.open(newline="") as f:
        assert [r.seq for r in export.read(f, fmt)] == [2, 3, 4]
    done = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert done.exit_code == 0 and "3 records (seq 2..4)" in done.output, done.output
    with out.open(newline="") as f:  # keep the answers' \r\n as they are
        text = f.read()
    out.write_text(text.replace("req-00003", "req-99999"), newline="")
    done = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert done.exit_code == 1 and "first broken link at seq 4" in done.output


def test_check_says_whole_truncated_or_unsealed(log: AuditLog, tmp_path: Path) -> None:
    _seed(log)
    out = tmp_path / "acme.jsonl"
    done = runner.invoke(app, ["audit", "export", "--tenant", "acme", "--out", str(out)])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["audit", "check", str(out)])
    assert done.exit_code == 0 and "6 records (seq 1..6), whole: sealed for acme" in done.output
    *records, sealed = out.read_text().splitlines(keepends=True)
    out.write_text("".join([*records[:4], sealed]))  # the last two records deleted
    done = runner.invoke(app, ["audit", "check", str(out)])
    assert done.exit_code == 1, done.output
    assert "first broken link at seq 5: truncated: cut after seq 4" in done.output
    out.write_text("".join(records[:4]))  # cut short: the seal goes too
    done = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert done.exit_code == 2 and "UNSEALED" in done.output and "no seal" in done.output


def test_check_without_the_signing_key_says_so(
    log: AuditLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking on a machine without the key must not create one (that would make the seal
    look forged)."""
    out = tmp_path / "acme.jsonl"
    out.write_text("".join(log.export("acme")))
    monkeypatch.setenv("RAGTRUST_DATA_DIR", str(tmp_path / "elsewhere"))
    get_settings.cache_clear()
    done = runner.invoke(app, ["audit", "check", str(out)])
    assert done.exit_code == 1 and "RAGTRUST_AUDIT_SIGNING_KEY" in done.output
    assert not (tmp_path / "elsewhere" / KEY_FILE).exists()


def test_prune_then_verify_is_green(log: AuditLog) -> None:
    _seed(log)
    done = runner.invoke(app, ["audit", "prune", "--before", "2025-03-04", "--tenant", "acme"])
    assert done.exit_code == 0 and "acme: 3 records pruned" in done.output, done.output
    done = runner.invoke(app, ["audit", "verify"])
    assert done.exit_code == 0 and "3 pruned up to seq 3" in done.output, done.output


def test_the_generated_signing_key_is_private_and_stable(log: AuditLog, tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "audit-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert AuditLog.from_settings(get_settings(), log._engine)._key == log._key


def test_a_configured_signing_key_is_used_and_no_file_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_signing_key=SecretStr("from a secret store"))
    assert signing_key(settings) == b"from a secret store"
    assert not (tmp_path / KEY_FILE).exists()


def test_production_takes_the_signing_key_from_the_environment_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_key_from_env_only=True)
    with pytest.raises(SigningKeyMissing, match="RAGTRUST_AUDIT_SIGNING_KEY"):
        signing_key(settings)
    assert not (tmp_path / KEY_FILE).exists()
    configured = settings.model_copy(update={"audit_signing_key": SecretStr("from the vault")})
    assert signing_key(configured) == b"from the vault"


def test_the_generated_key_file_is_git_ignored() -> None:
    done = subprocess.run(["git", "check-ignore", "-q", f"data/{KEY_FILE}"], cwd=ROOT, check=False)
    assert done.returncode == 0, f"data/{KEY_FILE} is not in .gitignore"
