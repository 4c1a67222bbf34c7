"""Evaluate a model on a folder laid out like one of the data sets (``mammo evaluate``).

Every figure comes with a 95% interval: AUC, sensitivity at fixed specificities and the
calibration error by a bootstrap over patients, proportions by Wilson's interval. Patients the
model was trained on (listed in its manifest) are left out, so the figures are on unseen
patients only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import MammoError
from core.imaging import open_image
from core.inference.classifier import Classifier
from core.metrics import (
    bootstrap_ci,
    expected_calibration_error,
    reliability_table,
    roc_auc,
    sensitivity_at_specificity,
    sensitivity_specificity,
    wilson_interval,
)
from core.training.data import Finding, Sample, load_folder

N_BOOT = 1000


@dataclass(frozen=True)
class ScoredSample:
    sample: Sample
    score: float | None  # None when the image could not be read
    peak: tuple[float, float] | None  # original pixels
    error: str | None = None


def _interval(values: tuple[float, float]) -> list[float]:
    return [round(values[0], 4), round(values[1], 4)]


def peak_inside(peak: tuple[float, float], findings: Sequence[Finding]) -> bool:
    """Whether the peak lies in a finding: its box (DDSM) or its circle (mini-MIAS)."""
    def inside(f: Finding) -> bool:
        if f.half_w is not None and f.half_h is not None:
            return abs(peak[0] - f.x) <= f.half_w and abs(peak[1] - f.y) <= f.half_h
        return (peak[0] - f.x) ** 2 + (peak[1] - f.y) ** 2 <= f.radius ** 2

    return any(inside(f) for f in findings)


def summarise(y: np.ndarray, p: np.ndarray, groups: Sequence[str], *, threshold: float,
              seed: int = 0) -> dict[str, Any]:
    """Discrimination, operating point and calibration, each with a 95% interval."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=np.float64)
    out: dict[str, Any] = {"images": int(len(y)), "patients": len(set(groups)),
                           "positives": int(y.sum())}
    if len(y) == 0:
        return out

    def boot(fn: Callable[[np.ndarray, np.ndarray], float]) -> list[float]:
        return _interval(bootstrap_ci(fn, y, p, groups=groups, n=N_BOOT, seed=seed))

    out["auc"] = round(roc_auc(y, p), 4)
    out["auc_ci"] = boot(roc_auc)
    for spec in (0.8, 0.9):
        key = f"sensitivity_at_{int(spec * 100)}_specificity"
        out[key] = round(sensitivity_at_specificity(y, p, spec), 4)
        out[key + "_ci"] = boot(lambda a, b, s=spec: sensitivity_at_specificity(a, b, s))
    sens, spec_ = sensitivity_specificity(y, p, threshold)
    pos, neg = int(y.sum()), int((1 - y).sum())
    out["at_threshold"] = {
        "threshold": threshold,
        "sensitivity": round(sens, 4),
        "sensitivity_ci": _interval(wilson_interval(round(sens * pos), pos)),
        "specificity": round(spec_, 4),
        "specificity_ci": _interval(wilson_interval(round(spec_ * neg), neg)),
    }
    out["ece"] = round(expected_calibration_error(y, p), 4)
    out["ece_ci"] = boot(expected_calibration_error)
    out["reliability"] = reliability_table(y, p)
    return out


def localisation(scored: Sequence[ScoredSample]) -> dict[str, Any]:
    """Share of images with located findings whose heatmap peak lies inside one of them."""
    out: dict[str, Any] = {}
    for name, keep in (("any_finding", lambda f: True), ("malignant", lambda f: f.malignant)):
        rows = [(s.peak, [f for f in s.sample.findings if keep(f)]) for s in scored
                if s.peak is not None]
        rows = [(pk, fs) for pk, fs in rows if fs]
        hits = sum(peak_inside(pk, fs) for pk, fs in rows)
        out[name] = {"images": len(rows), "peak_inside": hits,
                     "share": round(hits / len(rows), 4) if rows else None,
                     "share_ci": _interval(wilson_interval(hits, len(rows))) if rows else None}
    return out


def score_samples(classifier: Classifier, samples: Sequence[Sample], *, max_file_bytes: int,
                  max_pixels: int, cancel: threading.Event | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[ScoredSample]:
    out: list[ScoredSample] = []
    for i, s in enumerate(samples):
        if cancel is not None and cancel.is_set():
            break
        try:
            img = open_image(s.path, max_file_bytes=max_file_bytes, max_pixels=max_pixels)
            pred = classifier.predict([img.pixels])[0]
            out.append(ScoredSample(s, pred.score, pred.heatmap_peak))
        except MammoError as exc:
            out.append(ScoredSample(s, None, None, exc.message))
        if progress is not None:
            progress(i + 1, len(samples))
    return out


def evaluate_folder(classifier: Classifier, folder: Path, *, max_file_bytes: int,
                    max_pixels: int, progress: Callable[[int, int], None] | None = None
                    ) -> tuple[dict[str, Any], list[ScoredSample]]:
    """Score every image of ``folder`` whose patient the model has not been trained on."""
    samples = load_folder(folder)
    trained = set(classifier.manifest.data.get("training", {}).get("patients", []))
    unseen = [s for s in samples if s.patient_id not in trained]
    report, scored = evaluate_samples(classifier, unseen, max_file_bytes=max_file_bytes,
                                      max_pixels=max_pixels, progress=progress)
    report.update({"data": str(folder), "images_in_folder": len(samples),
                   "left_out_trained_patients": len(samples) - len(unseen)})
    return report, scored


def evaluate_samples(classifier: Classifier, samples: Sequence[Sample], *, max_file_bytes: int,
                     max_pixels: int, progress: Callable[[int, int], None] | None = None
                     ) -> tuple[dict[str, Any], list[ScoredSample]]:
    """Score ``samples`` and summarise them: figures with intervals, localisation, and the
    files that could not be read."""
    scored = score_samples(classifier, samples, max_file_bytes=max_file_bytes,
                           max_pixels=max_pixels, progress=progress)
    ok = [s for s in scored if s.score is not None]
    report = summarise(np.array([s.sample.label for s in ok]), np.array([s.score for s in ok]),
                       [s.sample.patient_id for s in ok], threshold=classifier.info.threshold)
    report.update({"model_id": classifier.info.model_id,
                   "unreadable": [{"path": str(s.sample.path), "error": s.error}
                                  for s in scored if s.score is None],
                   "localisation": localisation(ok)})
    return report, scored


def reliability_plot(report: dict[str, Any], path: Path, *, title: str) -> Path:
    """Reliability diagram (PNG) from a report's reliability table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report.get("reliability", [])
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=110)
    ax.plot([0, 1], [0, 1], "--", color="grey", lw=1, label="perfect calibration")
    if rows:
        ax.plot([r["mean_predicted"] for r in rows], [r["observed"] for r in rows], "o-",
                label="model")
        for r in rows:
            ax.annotate(str(r["count"]), (r["mean_predicted"], r["observed"]), fontsize=7,
                        xytext=(3, -9), textcoords="offset points")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"{title}\nECE {report.get('ece')} {report.get('ece_ci')}", fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
