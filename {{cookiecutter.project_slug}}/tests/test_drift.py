"""The drift statistics on synthetic data, at the thresholds shipped in params.yaml."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from {{ cookiecutter.package_name }}.core.drift import (
    ReferenceProfile,
    adjust,
    detect,
    ks_sorted,
    psi,
)
from {{ cookiecutter.package_name }}.core.features import Features
from {{ cookiecutter.package_name }}.core.monitoring import render_markdown
from {{ cookiecutter.package_name }}.params import load_params

from .conftest import PROJECT_ROOT

SHIPPED = load_params(PROJECT_ROOT / "params.yaml").monitoring
NUMERIC = tuple(f"x{i}" for i in range(8))
FEATURES = Features("y", NUMERIC, ("colour", "size"))


def population(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """Mixed shapes on purpose: normal, skewed, discrete with ties, and categories."""
    frame = pd.DataFrame(
        {
            **{name: rng.normal(10 * i, 1 + i, rows) for i, name in enumerate(NUMERIC[:4])},
            "x4": rng.lognormal(0, 1, rows),
            "x5": rng.exponential(3, rows),
            "x6": rng.integers(0, 5, rows).astype(float),
            "x7": rng.uniform(-1, 1, rows),
            "colour": rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2]),
            "size": rng.choice(["S", "M", "L", "XL"], rows),
            "y": rng.integers(0, 2, rows),
        }
    )
    frame.loc[rng.random(rows) < 0.05, "x0"] = np.nan
    return frame


@pytest.fixture(scope="module")
def profile() -> ReferenceProfile:
    reference = population(np.random.default_rng(0), 2_000)
    return ReferenceProfile.build(reference, FEATURES, SHIPPED.psi_bins)


def by_feature(result):
    return {feature.feature: feature for feature in result.features}


def test_batches_like_the_reference_do_not_drift(profile):
    verdicts = [
        detect(profile, population(np.random.default_rng(seed), 300), SHIPPED).detected
        for seed in range(1, 21)
    ]
    assert sum(verdicts) <= 1, f"{sum(verdicts)} of 20 clean batches were called drifted"


def test_a_shifted_mean_flags_that_feature_only(profile):
    batch = population(np.random.default_rng(5), 300)
    batch["x2"] += 0.8 * 3  # 0.8 standard deviations of x2
    result = detect(profile, batch, SHIPPED)
    assert result.drifted_features == ["x2"]
    assert by_feature(result)["x2"].test == "ks"


def test_a_changed_scale_flags_that_feature(profile):
    batch = population(np.random.default_rng(6), 300)
    batch["x1"] = 10 + (batch["x1"] - 10) * 2.0
    result = detect(profile, batch, SHIPPED)
    assert result.drifted_features == ["x1"]


def test_a_new_category_is_counted_and_flagged(profile):
    batch = population(np.random.default_rng(7), 300)
    batch.loc[batch.index[:60], "colour"] = "purple"
    result = detect(profile, batch, SHIPPED)
    colour = by_feature(result)["colour"]
    assert colour.drifted and colour.test == "chi-square"
    assert colour.unseen == {"purple": 60}
    assert result.drifted_features == ["colour"]


def test_a_trivial_shift_in_a_large_batch_is_significant_but_not_drift():
    rng = np.random.default_rng(8)
    features = Features("y", ("x",), ())
    reference = pd.DataFrame({"x": rng.normal(0, 1, 50_000)})
    batch = pd.DataFrame({"x": rng.normal(0.05, 1, 50_000)})
    result = detect(ReferenceProfile.build(reference, features, 10), batch, SHIPPED)
    (x,) = result.features
    assert x.p_adjusted < SHIPPED.alpha  # the test notices...
    assert x.psi < SHIPPED.psi_threshold and not x.drifted  # ...but it is too small to matter


def test_the_data_set_verdict_is_the_share_of_drifted_features(profile):
    batch = population(np.random.default_rng(9), 300)
    for name in ("x0", "x3", "x5"):
        batch[name] = batch[name] * 3 + 50
    # Judged by the share alone (each of the three would also alarm by itself).
    share_only = {**SHIPPED.__dict__, "psi_alarm": float("inf")}
    settings = SHIPPED.__class__(**{**share_only, "drift_share": 0.3})
    result = detect(profile, batch, settings)
    assert result.share == pytest.approx(3 / 10)
    assert result.detected
    settings = SHIPPED.__class__(**{**share_only, "drift_share": 0.31})
    assert not detect(profile, batch, settings).detected


WIDE = Features("y", tuple(f"w{i}" for i in range(15)), ())


def wide_population(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """Fifteen features: one drifted feature is 7% of them, under the shipped share."""
    return pd.DataFrame({name: rng.normal(0, 1, rows) for name in WIDE.numeric})


def test_one_strongly_drifted_feature_among_many_raises_the_alarm_alone():
    profile = ReferenceProfile.build(
        wide_population(np.random.default_rng(0), 2_000), WIDE, SHIPPED.psi_bins
    )
    batch = wide_population(np.random.default_rng(1), 300)
    batch["w3"] += 3.0
    result = detect(profile, batch, SHIPPED)
    assert result.drifted_features == ["w3"] and result.share < SHIPPED.drift_share
    assert by_feature(result)["w3"].psi > SHIPPED.psi_alarm
    assert result.alarming_features == ["w3"] and result.detected
    report = {
        "batch": "batch.csv",
        "batch_rows": 300,
        "reference": "train.parquet",
        "reference_rows": 2_000,
        "status": "drift",
        "settings": {"alpha": SHIPPED.alpha, "psi_threshold": SHIPPED.psi_threshold},
        "drift": result.to_dict(),
        "performance": None,
    }
    assert "**Feature `w3` alone raises the alarm**: its PSI" in render_markdown(report)
    # The share alone would not have seen it.
    lenient = SHIPPED.__class__(**{**SHIPPED.__dict__, "psi_alarm": 100.0})
    assert not detect(profile, batch, lenient).detected
    # Clean batches of fifteen features stay quiet with the alarm on.
    quiet = [
        detect(profile, wide_population(np.random.default_rng(seed), 300), SHIPPED).detected
        for seed in range(2, 22)
    ]
    assert sum(quiet) <= 1, f"{sum(quiet)} of 20 clean batches were called drifted"


def test_a_feature_with_no_values_left_counts_as_drifted(profile):
    batch = population(np.random.default_rng(10), 300)
    batch["x7"] = np.nan
    assert "x7" in detect(profile, batch, SHIPPED).drifted_features


@pytest.mark.parametrize("sizes", [(300, 200), (30_000, 20_000)])
@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "ties"])
def test_ks_matches_scipy(sizes, ties):
    rng = np.random.default_rng(11)
    reference, batch = rng.normal(0, 1, sizes[0]), rng.normal(0.02, 1, sizes[1])
    if ties:
        reference, batch = np.round(reference * 3), np.round(batch * 3)
    reference, batch = np.sort(reference), np.sort(batch)
    method = "exact" if max(sizes) <= 10_000 else "asymp"
    expected = stats.ks_2samp(reference, batch, method=method)
    statistic, p_value = ks_sorted(reference, batch)
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    shares = np.full(10, 0.1)
    assert psi(shares, shares) == 0
    nudged = np.array([0.05, *[0.1] * 8, 0.15])
    assert 0 < psi(shares, nudged) < psi(shares, np.array([0.01, *[0.1] * 8, 0.19]))


def test_corrections():
    p_values = np.array([0.01, 0.02, 0.03, 0.5])
    assert adjust(p_values, "bonferroni").tolist() == pytest.approx([0.04, 0.08, 0.12, 1.0])
    assert adjust(p_values, "benjamini-hochberg").tolist() == pytest.approx([0.04, 0.04, 0.04, 0.5])
