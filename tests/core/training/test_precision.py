"""Training precision follows the hardware: bfloat16 only where it is computed natively."""

from __future__ import annotations

from pathlib import Path

from core.training.model import _has_accelerator, training_precision
from core.training.two_stage_steps import _stage1_precision


def test_bfloat16_only_on_an_accelerator_or_a_cpu_that_computes_it(monkeypatch):
    monkeypatch.delenv("MAMMO_TRAIN_PRECISION", raising=False)
    avx2 = {"sse4_2", "avx", "avx2", "fma"}
    assert training_precision(avx2, accelerator=False) == "float32"
    assert training_precision(avx2 | {"avx512f", "avx512_bf16"}, accelerator=False) == \
        "mixed_bfloat16"
    assert training_precision(avx2 | {"amx_bf16", "amx_tile"}, accelerator=False) == \
        "mixed_bfloat16"
    assert training_precision(avx2, accelerator=True) == "mixed_bfloat16"
    monkeypatch.setenv("MAMMO_TRAIN_PRECISION", "mixed_bfloat16")
    assert training_precision(avx2, accelerator=False) == "mixed_bfloat16"


def test_this_machine_gets_a_policy_keras_knows(monkeypatch):
    import keras

    monkeypatch.delenv("MAMMO_TRAIN_PRECISION", raising=False)
    policy = training_precision()
    assert keras.mixed_precision.DTypePolicy(policy).name == policy
    flags = Path("/proc/cpuinfo").read_text()
    if not _has_accelerator() and "avx512_bf16" not in flags and "amx_bf16" not in flags:
        assert policy == "float32"


def test_the_card_says_what_stage_1_trained_in():
    assert _stage1_precision({}) == "mixed_bfloat16"  # logs from before the choice
    assert _stage1_precision({"precision": "mixed_bfloat16", "hard_precision": "float32"}) == \
        "mixed_bfloat16 then float32"
    assert _stage1_precision({"precision": "float32", "hard_precision": "float32"}) == "float32"
