"""The paired bootstrap agrees with scikit-learn on all rows and tells noise from a drop."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge

from {{ cookiecutter.package_name }}.core import paired
from {{ cookiecutter.package_name }}.core.metrics import (
    classification_metrics,
    regression_metrics,
)


def classifier_outputs(classes: int, rows: int = 600, seed: int = 0, forest: bool = False):
    x, y = make_classification(
        n_samples=rows, n_features=6, n_informative=4, n_classes=classes, random_state=seed
    )
    labels = np.array(["a", "b", "c", "d"])[y]
    # A small forest's probabilities take few values: many tied scores.
    model = (
        RandomForestClassifier(n_estimators=7, random_state=seed)
        if forest
        else LogisticRegression(max_iter=500)
    ).fit(x[: rows // 2], labels[: rows // 2])
    test_x, test_y = x[rows // 2 :], labels[rows // 2 :]
    return model, test_x, test_y


@pytest.mark.parametrize(("classes", "forest"), [(2, False), (3, False), (2, True), (3, True)])
def test_all_rows_give_scikit_learns_metrics(classes, forest):
    model, x, y = classifier_outputs(classes, forest=forest)
    positive = 1 if classes == 2 else -1
    rows = paired.Rows("classification", y, tuple(model.classes_), positive)
    predictions = paired.Predictions(model.predict(x), model.predict_proba(x))
    expected = classification_metrics(
        y, predictions.predicted, predictions.probabilities, list(model.classes_)
    )
    found = paired.intervals(rows, predictions, resamples=50)
    for name, value in expected.items():
        assert found[name].point == pytest.approx(value, abs=1e-6), name
        assert found[name].low <= found[name].point <= found[name].high, name


def test_regression_points_and_ties_in_auc_match_scikit_learn():
    x, y = make_regression(n_samples=300, n_features=5, noise=20, random_state=1)
    model = Ridge().fit(x[:150], y[:150])
    rows = paired.Rows("regression", y[150:])
    found = paired.intervals(rows, paired.Predictions(model.predict(x[150:])), resamples=50)
    for name, value in regression_metrics(y[150:], model.predict(x[150:])).items():
        assert found[name].point == pytest.approx(value, abs=1e-6), name

    # Scores with many ties: the AUC counts a tie as half a win, as scikit-learn does.
    truth = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    scores = np.array([0.1, 0.5, 0.5, 0.5, 0.9, 0.1, 0.1, 0.9])
    probabilities = np.column_stack([1 - scores, scores])
    rows = paired.Rows("classification", truth, (0, 1), 1)
    found = paired.intervals(rows, paired.Predictions((scores > 0.5).astype(int), probabilities))
    expected = classification_metrics(truth, (scores > 0.5).astype(int), probabilities, [0, 1])
    assert found["roc_auc"].point == pytest.approx(expected["roc_auc"], abs=1e-9)


def test_the_same_model_twice_is_a_zero_interval_and_reruns_agree():
    model, x, y = classifier_outputs(2)
    rows = paired.Rows("classification", y, tuple(model.classes_), 1)
    same = paired.Predictions(model.predict(x), model.predict_proba(x))
    diffs = paired.paired(rows, same, same, resamples=200)
    assert all(d.delta.low == d.delta.high == 0 for d in diffs.values())
    again = paired.paired(rows, same, same, resamples=200)
    assert again == diffs


def flip(predictions: paired.Predictions, truth: np.ndarray, share: float, seed: int):
    """Make a share of the correct predictions wrong: a planted regression."""
    rng = np.random.default_rng(seed)
    predicted = predictions.predicted.copy()
    probabilities = predictions.probabilities.copy()
    right = np.flatnonzero(predicted == truth)
    chosen = rng.choice(right, size=int(share * len(truth)), replace=False)
    predicted[chosen] = np.where(predicted[chosen] == "a", "b", "a")
    probabilities[chosen] = probabilities[chosen][:, ::-1]
    return paired.Predictions(predicted, probabilities)


def test_a_planted_drop_is_regressed_and_two_flipped_rows_are_noise():
    model, x, y = classifier_outputs(2, rows=2000)
    rows = paired.Rows("classification", y, tuple(model.classes_), 1)
    base = paired.Predictions(model.predict(x), model.predict_proba(x))

    drop = paired.paired(rows, base, flip(base, y, 0.08, seed=1))["accuracy"]
    assert drop.delta.high < -0.01
    assert paired.verdict(drop, direction="higher", allowed_drop=0.01) == paired.REGRESSED
    assert (
        paired.verdict(drop, direction="higher", allowed_drop=0.01, gate=False)
        == paired.WORSE_UNGATED
    )

    # Two rows of 1,000 flipped: worse by 0.002 at the point, nothing in the interval.
    tiny = paired.paired(rows, base, flip(base, y, 0.002, seed=2))["accuracy"]
    assert tiny.delta.point == pytest.approx(-0.002)
    assert tiny.delta.low < -0.002 and tiny.delta.high == 0
    assert paired.verdict(tiny, direction="higher", allowed_drop=0.001) == paired.WITHIN_NOISE
    assert (
        paired.verdict(tiny, direction="higher", allowed_drop=0.001, decide="point")
        == paired.REGRESSED
    )


def scored_rows(rows: int, right: int, seed: int):
    """A binary model's outputs on `rows` rows, exactly `right` of them correct."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(np.array(["a", "b"]), size=rows)
    predicted = truth.copy()
    wrong = rng.choice(rows, size=rows - right, replace=False)
    predicted[wrong] = np.where(truth[wrong] == "a", "b", "a")
    confidence = rng.uniform(0.55, 0.95, size=rows)
    says_b = np.where(predicted == "b", confidence, 1 - confidence)
    return (
        paired.Rows("classification", truth, ("a", "b"), 1),
        paired.Predictions(predicted, np.column_stack([1 - says_b, says_b])),
    )


def test_two_samples_give_wider_intervals_than_pairs_and_see_a_real_drop():
    """The monitor's comparison: one model on its test rows and on a batch of other rows."""
    test = scored_rows(1000, 900, seed=1)
    # Sixty rows, two fewer right than the test set's rate: 0.033 worse at the point,
    # beyond a 0.01 tolerance, and well inside what sixty rows can show by chance.
    small = scored_rows(60, 52, seed=2)
    change = paired.unpaired(*test, *small)["accuracy"]
    assert (change.baseline, change.candidate) == pytest.approx((0.9, 52 / 60))
    assert change.delta.point == pytest.approx(52 / 60 - 0.9)
    assert change.delta.low < -0.1 and change.delta.high > 0
    assert paired.verdict(change, direction="higher", allowed_drop=0.01) == paired.WITHIN_NOISE
    assert (
        paired.verdict(change, direction="higher", allowed_drop=0.01, decide="point")
        == paired.REGRESSED
    )
    assert paired.unpaired(*test, *small) == paired.unpaired(*test, *small)  # seeded

    # A thousand rows, seven in ten right: the whole interval is worse.
    drop = paired.unpaired(*test, *scored_rows(1000, 700, seed=3))["accuracy"]
    assert drop.delta.high < -0.15
    assert paired.verdict(drop, direction="higher", allowed_drop=0.01) == paired.REGRESSED

    # The same rows on both sides: resampled apart, not the zero of a paired interval.
    itself = paired.unpaired(*test, *test)["accuracy"]
    assert itself.delta.point == 0 and itself.delta.low < -0.01 < 0.01 < itself.delta.high


def test_lower_is_better_metrics_and_improvements():
    x, y = make_regression(n_samples=1200, n_features=5, noise=5, random_state=3)
    good = Ridge().fit(x[:600], y[:600])
    rows = paired.Rows("regression", y[600:])
    worse = paired.Predictions(good.predict(x[600:]) + 15)  # a biased model
    better = paired.Predictions(good.predict(x[600:]))
    gain = paired.paired(rows, worse, better, resamples=300)["rmse"]
    assert gain.delta.high < 0
    assert paired.verdict(gain, direction="lower", allowed_drop=0.5) == paired.IMPROVED
    loss = paired.paired(rows, better, worse, resamples=300)["rmse"]
    assert paired.verdict(loss, direction="lower", allowed_drop=0.5) == paired.REGRESSED


def test_bad_input_names_the_problem():
    rows = paired.Rows("regression", np.zeros(3))
    with pytest.raises(ValueError, match="2 predictions for 3 rows"):
        paired.intervals(rows, paired.Predictions(np.zeros(2)))
    with pytest.raises(ValueError, match="decide must be one of interval, point"):
        diff = paired.Difference("r2", 0, 0, paired.Interval(0, 0, 0))
        paired.verdict(diff, direction="higher", allowed_drop=0, decide="mean")


def test_slices_find_the_segment_where_the_model_fails():
    rng = np.random.default_rng(5)
    size = 3000
    region = rng.choice(["north", "south", "east"], size)
    income = rng.normal(50, 10, size)
    truth = rng.integers(0, 2, size)
    score = np.where(truth == 1, 0.8, 0.2) + rng.normal(0, 0.1, size)
    # The model is right everywhere but in the south, where it guesses.
    south = region == "south"
    score[south] = rng.random(south.sum())
    probabilities = np.column_stack([1 - score, score]).clip(0, 1)
    rows = paired.Rows("classification", truth, (0, 1), 1)
    predictions = paired.Predictions((score > 0.5).astype(int), probabilities)

    found = paired.slices(
        rows, predictions, {"region": region, "income": income}, bins=4, resamples=200
    )
    by_region = [s for s in found if s.column == "region"]
    assert {s.value for s in by_region} == {"north", "south", "east"}
    assert sum(s.rows for s in by_region) == size
    worst = paired.worst_first(by_region, "accuracy", "higher")[0]
    assert worst.value == "south" and worst.metrics["accuracy"].high < 0.6
    incomes = [s for s in found if s.column == "income"]
    assert len(incomes) == 4 and all(s.value.startswith("[") for s in incomes)
    assert all(abs(s.rows - size / 4) <= 1 for s in incomes)


def test_a_missing_value_is_a_slice_of_its_own():
    labels = paired.slice_labels(np.array([1.0, np.nan, 2.0, 3.0, 4.0, 5.0]), bins=2)
    assert labels[1] == paired.MISSING_VALUE
    assert len(set(labels)) == 3
