"""Fusion + calibration: fitting, missing signals, the JSON round trip."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from trust.calibration import Calibration, LogisticModel, fit, load


def _rows(n: int = 200, seed: int = 0) -> tuple[list[dict[str, float | None]], list[int]]:
    """grounding separates the classes; length_proxy is anti-correlated noise (like HaluEval's
    forced confidence); reflection is missing on half the rows."""
    rng = random.Random(seed)
    rows: list[dict[str, float | None]] = []
    labels = []
    for i in range(n):
        y = i % 2
        rows.append({
            "grounding": min(1.0, max(0.0, rng.gauss(0.75 if y else 0.35, 0.15))),
            "confidence": min(1.0, max(0.0, rng.gauss(0.2 if y else 0.6, 0.1))),
            "reflection": rng.random() if i % 4 < 2 else None,
        })  # fmt: skip
        labels.append(y)
    return rows, labels


def test_a_model_per_subset_of_present_signals() -> None:
    rows, labels = _rows()
    cal = fit(rows, labels)
    assert set(cal.models) == {
        "confidence", "grounding", "reflection", "confidence+grounding",
        "confidence+reflection", "grounding+reflection", "confidence+grounding+reflection",
    }  # fmt: skip


def test_a_signal_that_earns_a_negative_weight_is_dropped() -> None:
    rows, labels = _rows()
    model = fit(rows, labels).models["confidence+grounding"]
    assert model.features == ("grounding",) and model.coef[0] > 0


def test_missing_signals_fall_back_to_the_largest_fitting_model() -> None:
    cal = Calibration({"grounding": LogisticModel(("grounding",), (4.0,), -2.0)})
    assert cal.score({"grounding": 0.5, "consistency": 0.9}) == pytest.approx(0.5)
    assert cal.score({"consistency": 0.8, "grounding": None}) == pytest.approx(0.8)  # plain mean
    assert cal.score({}) is None


def test_higher_grounding_means_higher_probability() -> None:
    rows, labels = _rows()
    cal = fit(rows, labels)
    low, high = cal.score({"grounding": 0.2}), cal.score({"grounding": 0.9})
    assert low is not None and high is not None and 0 < low < 0.5 < high < 1


def test_json_round_trip_scores_the_same(tmp_path: Path) -> None:
    rows, labels = _rows()
    cal = fit(rows, labels, fitted_on="synthetic")
    path = tmp_path / "calibration.json"
    cal.save(path)
    again = load(path)
    assert again.fitted_on == "synthetic"
    for row in rows[:20]:
        assert again.score(row) == pytest.approx(cal.score(row))


def test_no_shipped_file_means_an_empty_calibration(tmp_path: Path) -> None:
    assert load(tmp_path / "absent.json").models == {}


def test_the_shipped_calibration_loads() -> None:
    cal = load()
    assert cal.models, "data/trust/calibration.json should ship fitted models"
    assert cal.score({"grounding": 1.0, "confidence": 0.5}) is not None
