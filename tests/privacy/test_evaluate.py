"""The PII scorer's plumbing: presidio-research records as samples, and recording results."""

from __future__ import annotations

import json
from pathlib import Path

from privacy.evaluate import merge_results, samples_from_records
from privacy.overlaps import Detection


def test_records_keep_only_the_evaluated_types_in_presidio_names() -> None:
    record = {
        "full_text": "Mail jo@example.com in Paris",
        "spans": [
            {"entity_type": "EMAIL", "start_position": 5, "end_position": 19},
            {"entity_type": "GPE", "start_position": 23, "end_position": 28},
        ],
        "template_id": 3,
    }
    [sample] = samples_from_records([record])
    assert sample.spans == (Detection(5, 19, "EMAIL_ADDRESS", 1.0),) and sample.group == 3


def test_holdout_keeps_one_template_in_five() -> None:
    records = [{"full_text": f"t{i}", "spans": [], "template_id": i} for i in range(10)]
    assert [s.group for s in samples_from_records(records, "holdout")] == [0, 5]
    assert len(samples_from_records(records, "dev")) == 8


def test_recording_a_part_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "pii.json"
    merge_results(path, {"all": {"micro": {"f1": 0.9}}, "generated": {"tune": {"micro": {}}}})
    merge_results(path, {"generated": {"fresh": {"micro": {"f1": 0.8}}}, "what": "x"})
    data = json.loads(path.read_text())
    assert set(data["generated"]) == {"tune", "fresh"}
    assert data["all"] == {"micro": {"f1": 0.9}} and data["what"] == "x"
