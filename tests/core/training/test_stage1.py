"""Stage 1 patches: lesions centred (with bounded jitter), tissue clear of every finding."""

from __future__ import annotations

import numpy as np

from core.training.stage1 import HALF, PATCH, film_rows, lesions_of, sample_patches


def make_index(n_located: int = 4, n_normal: int = 3) -> tuple[dict, np.ndarray]:
    """Canvases of grey tissue; each located one has a bright disc (the 'lesion')."""
    size = 512
    canvases = np.full((n_located + n_normal + 1, size, size), 90, np.uint8)
    canvases[:, :, 400:] = 0  # background on the right
    samples = []
    for i in range(n_located):
        x, y = 100 + 50 * i, 150 + 40 * i
        yy, xx = np.mgrid[0:size, 0:size]
        canvases[i][(xx - x) ** 2 + (yy - y) ** 2 <= 15 ** 2] = 250
        samples.append({"key": f"ddsm/{i}", "dataset": "ddsm", "fold": 0, "label": 1,
                        "findings": [{"x": x, "y": y, "rx": 15, "ry": 15, "box": True}]})
    for i in range(n_normal):
        samples.append({"key": f"mias/n{i}", "dataset": "mias", "fold": 0, "label": 0,
                        "findings": []})
    samples.append({"key": "rsna/0", "dataset": "rsna", "fold": 0, "label": 1, "findings": []})
    return {"samples": samples, "canvas": size}, canvases


def test_only_film_images_are_used_and_digital_never():
    index, _ = make_index()
    located, normals = film_rows(index, test=False)
    assert located == [0, 1, 2, 3] and normals == [4, 5, 6]
    assert film_rows(index, test=True) == ([], [])


def test_lesion_patches_hold_the_lesion_and_tissue_patches_do_not():
    index, canvases = make_index()
    located, normals = film_rows(index, test=False)
    x, y = sample_patches(index, canvases, located=located, normals=normals,
                          rng=np.random.default_rng(0), augment=False)
    assert x.shape[1:] == (PATCH, PATCH, 1)
    assert int(y.sum()) == len(lesions_of(index, located)) == 4
    assert (y == 0).sum() >= 6
    for patch, label in zip(x[..., 0], y, strict=True):
        has_lesion = (patch >= 250).sum() > 50
        assert has_lesion == bool(label)
        if label:  # jitter is bounded: the lesion's centre stays near the patch's centre
            rows, cols = np.nonzero(patch >= 250)
            assert abs(rows.mean() - HALF) < HALF * 0.6 and abs(cols.mean() - HALF) < HALF * 0.6


def test_augmentation_keeps_the_lesion_inside_the_patch():
    index, canvases = make_index()
    located, normals = film_rows(index, test=False)
    x, y = sample_patches(index, canvases, located=located, normals=normals,
                          rng=np.random.default_rng(1), augment=True)
    assert all((p > 200).sum() > 50 for p in x[y == 1][..., 0])
