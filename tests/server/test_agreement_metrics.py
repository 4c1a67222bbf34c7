"""The agreement and screening figures on cases whose answers are known by hand."""

from __future__ import annotations

import pytest

from server.services.agreement_metrics import cohen_kappa, proportion, screening


def table(both_yes: int, first_only: int, second_only: int, both_no: int):
    first = [True] * both_yes + [True] * first_only + [False] * second_only + [False] * both_no
    second = [True] * both_yes + [False] * first_only + [True] * second_only + [False] * both_no
    return first, second


def test_kappa_of_a_textbook_table():
    # po = 35/50 = 0.7, pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4,
    # se = sqrt(0.7 * 0.3 / (50 * 0.25)) = 0.12961
    kappa = cohen_kappa(*table(20, 5, 10, 15))

    assert kappa.value == pytest.approx(0.4)
    assert kappa.low == pytest.approx(0.4 - 1.959964 * 0.129615, abs=1e-5)
    assert kappa.high == pytest.approx(0.4 + 1.959964 * 0.129615, abs=1e-5)
    assert kappa.n == 50


def test_kappa_is_one_for_perfect_and_below_zero_for_systematic_disagreement():
    assert cohen_kappa(*table(10, 0, 0, 10)).value == pytest.approx(1.0)
    assert cohen_kappa(*table(0, 10, 10, 0)).value == pytest.approx(-1.0)


def test_kappa_is_undefined_when_both_raters_call_one_class_only():
    assert cohen_kappa([True] * 5, [True] * 5).value is None
    assert cohen_kappa([], []).value is None
    with pytest.raises(ValueError):
        cohen_kappa([True], [])


def test_wilson_interval_of_8_in_10():
    rate = proportion(8, 10)

    assert rate.value == pytest.approx(0.8)
    assert (rate.low, rate.high) == (pytest.approx(0.4902, abs=1e-4),
                                     pytest.approx(0.9433, abs=1e-4))


def test_wilson_interval_stays_inside_zero_and_one():
    none, all_ = proportion(0, 20), proportion(20, 20)

    assert none.low == 0.0 and 0.0 < none.high < 0.2
    assert all_.high == 1.0 and 0.8 < all_.low < 1.0
    assert proportion(0, 0).value is None


def test_screening_figures():
    # 4 cancers (3 called), 6 others (1 called): sensitivity 3/4, specificity 5/6, recall 4/10
    truth = [True] * 4 + [False] * 6
    called = [True, True, True, False, True, False, False, False, False, False]

    figures = screening(truth, called)

    assert (figures.sensitivity.numerator, figures.sensitivity.denominator) == (3, 4)
    assert (figures.specificity.numerator, figures.specificity.denominator) == (5, 6)
    assert figures.recall_rate.value == pytest.approx(0.4)
