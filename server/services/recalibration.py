"""Local recalibration: a stored version's calibration and threshold fitted again on this
site's outcomes, written as a new model folder (same weights, new manifest, a card section),
which IT then signs, uploads and approves like any other version.

A case is a breast with an outcome whose images the version read: its score is the highest of
its views (as a breast is scored on the workstation), taken back to the model's raw logit
through the version's own calibration; the truth is cancer for "biopsy malignant". The new
Platt calibration is fitted on all cases; the threshold is set, at the version's operating
specificity, on out-of-fold probabilities (each case calibrated by a fit on the others), so
the threshold is not tuned on the very probabilities it cuts.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import Image, ModelVersion, Reading
from server.errors import InvalidInput
from server.services.calibration import (
    fit_platt,
    logit,
    out_of_fold,
    sigmoid,
    threshold_at_specificity,
)
from server.services.model_files import ModelFileStore
from server.services.model_versions import get_version
from server.services.outcomes import latest_outcomes

DEFAULT_SPECIFICITY = 0.80
FOLDS = 5
CARD_NAME = "MODEL_CARD.md"


@dataclass(frozen=True)
class Cases:
    scores: np.ndarray  # the model's calibrated breast scores, as read
    cancer: np.ndarray  # bool

    @property
    def positives(self) -> int:
        return int(self.cancer.sum())

    @property
    def negatives(self) -> int:
        return int((~self.cancer).sum())


def gather(session: Session, version: ModelVersion) -> Cases:
    """The breasts with an outcome that ``version`` read, one score each."""
    by_pixel = {}
    for outcome in latest_outcomes(session):
        for pixel in outcome.pixel_sha256s:
            by_pixel[pixel] = outcome
    rows = session.execute(
        select(Image.pixel_sha256, Reading.score)
        .join(Image, Reading.image_id == Image.id)
        .where(Reading.model_sha256 == version.manifest_sha256,
               Image.pixel_sha256.in_(list(by_pixel)))
    )
    best: dict[tuple[str, str], float] = {}
    truth: dict[tuple[str, str], bool] = {}
    for pixel, score in rows:
        outcome = by_pixel[pixel]
        key = (outcome.exam_key, outcome.breast)
        best[key] = max(best.get(key, 0.0), float(score))
        truth[key] = outcome.outcome == "malignant"
    keys = sorted(best)
    return Cases(scores=np.array([best[k] for k in keys], dtype=np.float64),
                 cancer=np.array([truth[k] for k in keys], dtype=bool))


def recalibrate(
    session: Session,
    files: ModelFileStore,
    version_id: int,
    out: Path,
    *,
    now: datetime,
    min_per_class: int,
    model_id: str | None = None,
) -> dict[str, Any]:
    """Write the recalibrated version of ``version_id`` into ``out``; returns its manifest.

    Raises:
        NotFound: no such version.
        InvalidInput: fewer than ``min_per_class`` outcomes of either class, ``out`` is not
            empty, or the version's calibration cannot be inverted.
    """
    version = get_version(session, version_id)
    cases = gather(session, version)
    if cases.positives < min_per_class or cases.negatives < min_per_class:
        raise InvalidInput(
            f"Recalibration needs at least {min_per_class} outcomes of each class among the "
            f"breasts version {version.id} read; there are {cases.positives} biopsy-malignant "
            f"and {cases.negatives} benign or cancer-free. Record more outcomes on the "
            "workstations (Decision > Record outcome…) and try again; nothing was written."
        )
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} is not empty; choose a new folder for the new version.")
    original = json.loads(files.existing(version.manifest_sha256).read_bytes())
    cal = original.get("calibration", {})
    old_a, old_b = float(cal.get("a", 0.0)), float(cal.get("b", 0.0))
    if cal.get("method") != "platt" or old_a == 0.0:
        raise InvalidInput(f"Version {version.id}'s calibration cannot be recalibrated.")
    raw = (logit(cases.scores) - old_b) / old_a
    specificity = float(original.get("operating_specificity", DEFAULT_SPECIFICITY))
    oof = out_of_fold(raw, cases.cancer, folds=FOLDS)
    threshold = threshold_at_specificity(cases.cancer, oof, specificity)
    a, b = fit_platt(raw, cases.cancer)
    called = oof >= threshold
    section = {
        "from": {"version": version.id, "id": version.model_id,
                 "manifest_sha256": version.manifest_sha256},
        "at": now.isoformat(),
        "cases": int(cases.cancer.size),
        "malignant": cases.positives,
        "benign_or_no_cancer": cases.negatives,
        "folds": FOLDS,
        "operating_specificity": specificity,
        "before": {"calibration": cal, "threshold": original.get("threshold")},
        "out_of_fold": {
            "sensitivity": float(called[cases.cancer].mean()),
            "specificity": float((~called[~cases.cancer]).mean()),
            "brier": float(np.mean((oof - cases.cancer) ** 2)),
            "brier_before": float(np.mean((sigmoid(old_a * raw + old_b) - cases.cancer) ** 2)),
        },
    }
    manifest = {**original,
                "id": model_id or f"{version.model_id}-recal-{now:%Y%m%d}",
                "calibration": {"method": "platt", "a": a, "b": b},
                "threshold": threshold,
                "recalibration": section}
    _write(files, version, manifest, out)
    return manifest


def _write(files: ModelFileStore, version: ModelVersion, manifest: dict[str, Any],
           out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    held = {f["sha256"] for f in version.files}
    entries = []
    for entry in manifest["files"]:
        if entry.get("role") == "card":
            continue  # a new card is written below
        if entry["sha256"] in held:
            target = out / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files.existing(entry["sha256"]), target)
        entries.append(entry)
    card = out / CARD_NAME
    card.write_text(card_text(manifest))
    data = card.read_bytes()
    entries.append({"role": "card", "path": CARD_NAME,
                    "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    manifest["files"] = entries
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def card_text(manifest: dict[str, Any]) -> str:
    r = manifest["recalibration"]
    oof = r["out_of_fold"]
    return (
        f"# Model card: {manifest['id']}\n\n"
        f"**Research use only.** The weights are those of {r['from']['id']} (server version "
        f"{r['from']['version']}, manifest {r['from']['manifest_sha256'][:12]}); see its card "
        "for the training data, the validation and the limits.\n\n"
        "## Local recalibration\n\n"
        f"Recalibrated on {r['at'][:10]} on this site's outcomes: {r['cases']} breasts "
        f"({r['malignant']} biopsy malignant, {r['benign_or_no_cancer']} benign or without "
        "cancer at follow-up) that the original version read. Platt calibration refitted on "
        f"all of them; threshold set at {r['operating_specificity']:.0%} specificity on "
        f"{r['folds']}-fold out-of-fold probabilities.\n\n"
        f"| | before | after |\n|---|---|---|\n"
        f"| calibration (a, b) | {r['before']['calibration'].get('a'):.4g}, "
        f"{r['before']['calibration'].get('b'):.4g} | {manifest['calibration']['a']:.4g}, "
        f"{manifest['calibration']['b']:.4g} |\n"
        f"| threshold | {r['before']['threshold']} | {manifest['threshold']:.4f} |\n"
        f"| Brier score (out of fold) | {oof['brier_before']:.4f} | {oof['brier']:.4f} |\n\n"
        f"Out of fold at the new threshold: sensitivity {oof['sensitivity']:.1%}, "
        f"specificity {oof['specificity']:.1%}. These outcomes are this site's and were "
        "recorded after reading: they may be biased (not every breast gets a biopsy or a "
        "follow-up). Check the reader-model agreement after the roll-out.\n"
    )
