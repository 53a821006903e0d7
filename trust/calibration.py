"""Fusion and calibration: the available signals -> P(answer is correct).

One logistic regression per subset of signals, so whatever a preset computed (or a backend
could provide) has a model fitted on exactly those signals: a missing signal is never imputed
and never a crash. Every signal is built so that higher means more trustworthy; a fit that
gives one a negative weight is using it as a proxy for something else (in HaluEval, answer
length), so that signal is dropped from that model and the model refitted. Parameters ship as
JSON (data/trust/calibration.json) — reviewable, diffable, and no pickle to unpickle.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trust.signals import SIGNAL_NAMES

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "trust" / "calibration.json"
FORMAT_VERSION = 1
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
"""Inverse regularization strengths tried by cross-validation. Capped at 10: on a few hundred
answers an unbounded C turns grounding's mass at exactly 1.0 into a hard step."""


@dataclass(frozen=True)
class LogisticModel:
    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    n: int = 0

    def predict(self, signals: Mapping[str, float]) -> float:
        pairs = zip(self.features, self.coef, strict=True)
        z = self.intercept + sum(c * signals[f] for f, c in pairs)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass
class Calibration:
    models: dict[str, LogisticModel] = field(default_factory=dict)
    """Keyed by the sorted signal names they were fitted for, joined by '+'."""
    fitted_on: str = ""

    def score(self, signals: Mapping[str, float]) -> float | None:
        """P(correct) from whatever signals are present; None when none are."""
        present = {k: v for k, v in signals.items() if v is not None and k in SIGNAL_NAMES}
        if not present:
            return None
        model = self.models.get(subset_key(present))
        if model is None:  # fitted on fewer signals: the largest model that fits what we have
            fitting = [m for m in self.models.values() if set(m.features) <= present.keys()]
            model = max(fitting, key=lambda m: (len(m.features), m.n), default=None)
        if model is None:  # never calibrated for these: their plain mean beats no answer
            return float(np.mean(list(present.values())))
        return model.predict(present)

    def uses(self, signals: Sequence[str]) -> set[str]:
        """The signals the model for exactly ``signals`` weighs; all of them when uncalibrated.
        A signal the fit dropped need not be paid for."""
        model = self.models.get(subset_key(signals))
        return set(signals) if model is None else set(model.features)

    def to_json(self) -> str:
        body = {
            "version": FORMAT_VERSION,
            "fitted_on": self.fitted_on,
            "models": {k: asdict(m) for k, m in sorted(self.models.items())},
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        body = json.loads(text)
        if body.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"calibration format {body.get('version')!r}, expected {FORMAT_VERSION}; "
                "refit with `ragtrust trust calibrate`"
            )
        models = {
            k: LogisticModel(
                tuple(m["features"]),
                tuple(float(c) for c in m["coef"]),
                float(m["intercept"]),
                int(m.get("n", 0)),
            )  # fmt: skip
            for k, m in body["models"].items()
        }
        return cls(models, str(body.get("fitted_on", "")))

    def save(self, path: Path = DEFAULT_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")


def load(path: Path = DEFAULT_PATH) -> Calibration:
    """The shipped parameters; an empty calibration (plain mean of signals) if none ship."""
    if not path.exists():
        return Calibration()
    return Calibration.from_json(path.read_text(encoding="utf-8"))


def subset_key(names: Mapping[str, object] | Sequence[str]) -> str:
    return "+".join(sorted(names))


def fit_logistic(
    rows: Sequence[Mapping[str, float | None]], labels: Sequence[int], features: Sequence[str]
) -> LogisticModel | None:
    """Logistic regression on the rows that have every feature, dropping any feature that
    earns a negative weight (see the module docstring). None when the rows cannot support a
    fit (fewer than 10, or one class only)."""
    from sklearn.linear_model import LogisticRegressionCV

    keep = [i for i, r in enumerate(rows) if all(r.get(f) is not None for f in features)]
    y = np.asarray([labels[i] for i in keep])
    if len(keep) < 10 or len(set(y.tolist())) < 2:
        return None
    feats = list(features)
    while feats:
        x = np.asarray([[float(rows[i][f] or 0.0) for f in feats] for i in keep])
        # Regularization strength by cross-validated log loss on the fit data: a fixed C
        # shrank the probabilities toward 0.5 (under-confident at both ends).
        folds = max(2, min(5, int(np.bincount(y).min())))
        with warnings.catch_warnings():  # scikit-learn 1.9's notices of 1.10's API changes
            warnings.simplefilter("ignore", FutureWarning)
            lr = LogisticRegressionCV(Cs=C_GRID, cv=folds, scoring="neg_log_loss").fit(x, y)
        coef = lr.coef_[0]
        if (coef >= 0).all():
            return LogisticModel(tuple(feats), tuple(float(c) for c in coef),
                                 float(lr.intercept_[0]), len(keep))  # fmt: skip
        feats.pop(int(np.argmin(coef)))
    prior = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    return LogisticModel((), (), math.log(prior / (1 - prior)), len(keep))


def fit(
    rows: Sequence[Mapping[str, float | None]], labels: Sequence[int], *, fitted_on: str = ""
) -> Calibration:
    """A model for every subset of the signals that the rows carry."""
    present = [s for s in SIGNAL_NAMES if any(r.get(s) is not None for r in rows)]
    models = {}
    for size in range(1, len(present) + 1):
        for subset in itertools.combinations(present, size):
            model = fit_logistic(rows, labels, subset)
            if model is not None:
                models[subset_key(subset)] = model
    return Calibration(models, fitted_on)
