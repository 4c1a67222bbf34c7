"""The "beyond trivial statistics" check tells a model that only knows image brightness from
one that knows something else."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.training.finalize import fit_logistic, incremental_value


def make_case(tmp_path, *, model_knows_more: bool):
    rng = np.random.default_rng(0)
    rows, oof, oof_p, held = [], [], [], {}
    for i in range(400):
        label = int(rng.random() < 0.4)
        hidden = rng.normal(label * 1.5, 1.0)  # what only a good model sees
        brightness = 0.3 + 0.1 * label + rng.normal(0, 0.08)  # a shortcut both can see
        canvas = np.clip(rng.normal(brightness, 0.05, (16, 16)), 0, 1)
        name = f"c{i}.png"
        Image.fromarray((canvas * 255).astype(np.uint8)).save(tmp_path / name)
        row = {"key": f"rsna/{name}", "file": name, "dataset": "rsna", "label": label,
               "patient_id": f"p{i}", "fold": 0 if i < 250 else -1}
        rows.append(row)
        signal = hidden if model_knows_more else (brightness - 0.35) * 20 + rng.normal(0, .5)
        p = float(1 / (1 + np.exp(-signal)))
        if row["fold"] >= 0:
            oof.append((row, None))
            oof_p.append(p)
        else:
            held[row["key"]] = p
    return {"samples": rows}, {"oof": oof, "oof_p": np.array(oof_p)}, held


def test_a_model_that_sees_more_than_the_statistics_adds_to_them(tmp_path):
    index, chosen, held = make_case(tmp_path, model_knows_more=True)
    out = incremental_value(index, tmp_path, chosen, held)
    assert out["held_out_images"] == 150
    assert (out["statistics_plus_model"]["auc"]
            > out["statistics_alone"]["auc"] + 0.05)


def test_a_model_that_only_sees_brightness_adds_nothing(tmp_path):
    index, chosen, held = make_case(tmp_path, model_knows_more=False)
    out = incremental_value(index, tmp_path, chosen, held)
    assert abs(out["statistics_plus_model"]["auc"] - out["statistics_alone"]["auc"]) < 0.04
    assert out["model_alone"]["auc"] > 0.6  # it does "work", through the shortcut


def test_logistic_fit_recovers_a_known_direction():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 2))
    y = (rng.random(2000) < 1 / (1 + np.exp(-(2 * x[:, 0] - 1)))).astype(int)
    f = fit_logistic(x, y)
    g = f(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 3.0]]))
    assert g[0] - g[1] > 3.0 and abs(g[2] - f(np.array([[0.0, 0.0]]))[0]) < 0.5
