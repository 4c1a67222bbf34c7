"""Stage 2 targets and the two-stage choices and ship rule."""

from __future__ import annotations

import numpy as np

from core.training.stage2 import CELL, cell_targets, training_arrays
from core.training.two_stage import choose, ship_decision


def test_cell_targets_mark_the_lesion_and_leave_a_margin():
    canvas = np.full((512, 512), 120, np.uint8)
    canvas[:, 448:] = 0  # background
    row = {"findings": [{"x": 200.0, "y": 100.0, "rx": 40.0, "ry": 20.0, "box": True}]}
    target, weight = cell_targets(row, canvas, 16)
    inside = np.argwhere(target == 1)
    assert len(inside) > 0
    for r, c in inside:
        assert abs((c + 0.5) * CELL - 200) <= 40 and abs((r + 0.5) * CELL - 100) <= 20
    # cells right next to the lesion are neither positive nor negative
    assert target[2, 8] == 0 and weight[2, 8] == 0
    # background is never a negative; positives are weighted up
    assert (weight[:, 14:] == 0).all()
    assert weight[target == 1].min() > 1.0 and weight[(target == 0) & (weight > 0)].max() == 1


def test_ddsm_images_are_never_image_level_positives():
    index = {"samples": [
        {"dataset": "ddsm", "label": 1, "findings": [{"x": 50, "y": 50, "rx": 10, "ry": 10}]},
        {"dataset": "rsna", "label": 1, "findings": []},
        {"dataset": "mias", "label": 0, "findings": []}]}
    y, w, cells, located = training_arrays(index, np.full((3, 512, 512), 100, np.uint8), 16)
    assert y.tolist() == [0, 1, 0] and w.tolist() == [0, 1, 1]
    assert located.tolist() == [1, 0, 0] and cells[0, ..., 1].sum() > 0


def _results(rng, n=200, signal=2.0):
    rows, preds = [], {}
    for i in range(n):
        label = int(i % 3 == 0)
        key = f"rsna/{i}"
        rows.append({"key": key, "dataset": "rsna", "label": label, "patient_id": f"p{i}",
                     "findings": [], "fold": i % 4})
        z = rng.normal() + signal * label
        preds[key] = {"source": "oof", "fold": i % 4, "peak": [10.0, 10.0],
                      "map_logits": {m: z + (0.0 if m == "map-win4-max" else rng.normal())
                                     for m in ("map-mean", "map-max", "map-lse4",
                                               "map-win4-max", "map-win4-lse4",
                                               "map-win4-lse8")}}
    rows.append({"key": "ddsm/x", "dataset": "ddsm", "label": 1, "patient_id": "d",
                 "findings": [{"x": 10, "y": 10, "rx": 5, "ry": 5}], "fold": 0})
    preds["ddsm/x"] = {"source": "oof", "fold": 0, "peak": [10.0, 10.0],
                       "map_logits": {m: 9.0 for m in preds["rsna/0"]["map_logits"]}}
    return {"predictions": preds}, {"samples": rows}


def test_choices_are_made_on_the_out_of_fold_cancer_labels_only():
    results, index = _results(np.random.default_rng(0))
    chosen = choose(results, index)
    assert chosen["aggregation"] == "map-win4-max"  # the noiseless one wins
    assert all(r["dataset"] != "ddsm" for r, _ in chosen["oof"])
    assert chosen["calibration"]["a"] > 0 and 0 < chosen["threshold"] < 1


def _manifest(**over):
    m = {"calibration": {"a": 1.0}, "metrics": {
        "cross_validation": {"all": {"auc_ci": [0.6, 0.7]}},
        "held_out_test": {"rsna": {"auc_ci": [0.55, 0.7]},
                          "ddsm": {"localisation": {"any_finding": {"share": 0.6}}}},
        "beyond_trivial_statistics": {"difference_ci": [0.01, 0.1]}}}
    m.update(over)
    return m


def test_the_ship_rule_needs_every_check():
    assert ship_decision(_manifest())["passes"]
    m = _manifest()
    m["metrics"]["beyond_trivial_statistics"]["difference_ci"] = [-0.01, 0.1]
    d = ship_decision(m)
    assert not d["passes"] and not d["checks"]["adds_to_trivial_statistics"]
    m = _manifest()
    m["metrics"]["held_out_test"]["ddsm"]["localisation"]["any_finding"]["share"] = 0.4
    assert not ship_decision(m)["passes"]
    assert not ship_decision(_manifest(calibration={"a": 0.0}))["passes"]
