"""The windows layout (model v2b): overlapping breast windows, cell maps laid back on the canvas."""

from __future__ import annotations

import numpy as np
import pytest

from core.inference.aggregate import aggregate
from core.inference.classifier import Classifier
from core.inference.preprocess import CANVAS, preprocess
from core.inference.windows import (
    assemble_map,
    cut_windows,
    positions,
    tissue_windows,
    window_logits,
)


def test_windows_overlap_by_half_and_cover_the_canvas():
    pos = positions(512)
    assert pos.tolist() == [0, 64, 128, 192, 256, 320, 384]
    canvas = np.arange(512 * 512, dtype=np.float32).reshape(512, 512)
    w = cut_windows(canvas)
    assert w.shape == (49, 128, 128)
    # Row-major: window 8 is the second row's second window, at (64, 64).
    assert w[8][0, 0] == canvas[64, 64] and w[8][-1, -1] == canvas[191, 191]


def test_only_windows_centred_on_breast_are_kept():
    canvas = np.zeros((512, 512), np.float32)
    canvas[:, :200] = 0.5  # breast on the left
    mask = tissue_windows(canvas)
    centres = positions(512) + 64
    expected = np.array([cx < 200 for _ in centres for cx in centres])
    assert (mask == expected).all() and mask.sum() == 7 * 3
    assert tissue_windows(np.zeros((512, 512), np.float32)).all()  # blank: keep every window


def test_the_map_averages_overlapping_windows_and_never_peaks_outside_them():
    mask = np.zeros(49, bool)
    mask[[0, 1]] = True  # two windows side by side at x 0 and 64
    cells = np.stack([np.full((4, 4), 1.0), np.full((4, 4), 3.0)])
    full = assemble_map(cells, mask, 512)
    assert full.shape == (16, 16)
    assert full[0, 0] == 1.0 and full[0, 2] == 2.0 and full[0, 4] == 3.0  # overlap: the mean
    assert full[10, 10] == full.min() == 1.0  # uncovered cells take the lowest value
    assert window_logits(cells).tolist() == [1.0, 3.0]


def test_border_cells_weigh_less_where_windows_overlap():
    mask = np.zeros(49, bool)
    mask[[0, 1]] = True  # windows at x 0-128 and 64-192: canvas cells 2 and 3 are shared
    cells = np.stack([np.full((4, 4), 1.0), np.full((4, 4), 3.0)])
    full = assemble_map(cells, mask, 512, edge_weight=0.1)
    # canvas column 2: the first window's inner column (1) and the second's border (0.1)
    assert full[1, 2] == pytest.approx((1.0 * 1 + 3.0 * 0.1) / 1.1)
    # canvas column 3: the first window's border column and the second's inner one
    assert full[1, 3] == pytest.approx((1.0 * 0.1 + 3.0 * 1) / 1.1)
    # a cell only one window covers keeps its value, whatever its weight
    assert full[0, 0] == 1.0 and full[1, 5] == 3.0
    # weight 1 is the plain mean
    assert assemble_map(cells, mask, 512, edge_weight=1.0)[1, 2] == pytest.approx(2.0)


def _breast_image(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((700, 500), np.float32)
    img[50:650, :350] = 0.4 + 0.3 * rng.random((600, 350))
    return img


@pytest.fixture(scope="module")
def tiny_windows_dir(tmp_path_factory):
    from tests.model_factory import make_tiny_windows_model_dir

    return make_tiny_windows_model_dir(tmp_path_factory.mktemp("wmodel") / "tiny-windows")


def test_the_classifier_runs_breast_windows_and_pools_their_logits(tiny_windows_dir):
    clf = Classifier.load(tiny_windows_dir, engine="onnx")
    assert clf.manifest.layout == "windows" and clf.manifest.stride == 64
    runs = []
    engine_run = clf.engine.run

    def counting(x):
        runs.append(len(x))
        return engine_run(x)

    clf.engine.run = counting
    img = _breast_image()
    pred = clf.predict([img])[0]
    canvas = preprocess(img).canvas
    mask = tissue_windows(canvas)
    assert sum(runs) == mask.sum() < 49  # background windows are not run
    # The image logit is the manifest's pooling of the window logits, by hand from the engine.
    feats = engine_run(cut_windows(canvas)[mask][..., None])[1]
    cells = feats.astype(np.float32) @ clf._w + clf._b
    expected = float(aggregate(window_logits(cells)[None, :], "max")[0])
    assert pred.image_logit == pytest.approx(expected, abs=1e-4)
    assert pred.heatmap.shape == (CANVAS // 32, CANVAS // 32)
    np.testing.assert_allclose(pred.heatmap, assemble_map(cells, mask, CANVAS, edge_weight=0.1),
                               atol=1e-4)
    # the manifest's border weight is the one used: the plain mean differs
    assert np.abs(pred.heatmap - assemble_map(cells, mask, CANVAS)).max() > 1e-3


def test_a_mirrored_breast_scores_the_same_and_its_peak_mirrors(tiny_windows_dir):
    clf = Classifier.load(tiny_windows_dir, engine="onnx")
    img = _breast_image(2)
    a, b = clf.predict([img, img[:, ::-1].copy()])
    assert abs(a.score - b.score) < 1e-5
    assert abs((img.shape[1] - a.heatmap_peak[0]) - b.heatmap_peak[0]) <= 2
    assert abs(a.heatmap_peak[1] - b.heatmap_peak[1]) <= 2


def test_an_unknown_layout_is_refused_with_the_reason(tiny_windows_dir, tmp_path):
    import json
    import shutil

    from core.errors import ModelLoadError

    folder = tmp_path / "m"
    shutil.copytree(tiny_windows_dir, folder)
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    data["layout"]["kind"] = "spiral"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelLoadError, match="layout"):
        Classifier.load(folder, engine="onnx")
