"""``ragtrust eval pii`` on the real analyzer: a file and generated sentences side by side,
recorded into one JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rag.cli.main import app

runner = CliRunner()


def test_eval_pii_records_file_and_fresh_numbers_side_by_side(tmp_path: Path) -> None:
    data = tmp_path / "dev.json"
    data.write_text(json.dumps([
        {"full_text": "Call Ingrid Halvorsen at +44 20 7946 0958.", "template_id": 1,
         "spans": [{"entity_type": "PERSON", "start_position": 5, "end_position": 21},
                   {"entity_type": "PHONE_NUMBER", "start_position": 25, "end_position": 41}]},
    ]))  # fmt: skip
    record = tmp_path / "pii.json"
    result = runner.invoke(app, [
        "eval", "pii", "--data", str(data), "--generated", "fresh", "--n", "8",
        "--record", str(record), "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["file"]["per_entity"]["PHONE_NUMBER"]["recall"] == 1.0
    written = json.loads(record.read_text())
    assert written["all"]["n"] == 1 and written["generated"]["fresh"]["n"] == 8
    fresh = written["generated"]["fresh"]
    assert {"micro", "per_entity", "any_pii_recall", "latency_ms", "seed"} <= set(fresh)


def test_eval_pii_needs_something_to_score() -> None:
    result = runner.invoke(app, ["eval", "pii"])
    assert result.exit_code != 0
