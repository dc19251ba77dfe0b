import numpy as np
import pytest

from pyimagesearch.plotting import plot_roc
from pyimagesearch.search.evaluation import evaluate_pairs, is_same, summary


def test_is_same_for_both_score_kinds():
    scores = np.array([0.2, 0.5, 0.8])
    assert list(is_same(scores, "similarity", 0.5)) == [False, False, True]
    assert list(is_same(scores, "distance", 0.5)) == [True, False, False]
    with pytest.raises(ValueError):
        is_same(scores, "probability", 0.5)


def test_perfectly_separated_similarities():
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.6])
    result = evaluate_pairs(scores, labels, "similarity", 0.5)
    assert result["accuracy"] == pytest.approx(5 / 6)
    assert result["roc_auc"] == pytest.approx(1.0)
    assert result["eer"] == pytest.approx(0.0)
    assert result["best_accuracy"] == pytest.approx(1.0)
    assert 0.6 < result["best_threshold"] <= 0.7


def test_distances_are_read_the_other_way_round():
    labels = np.array([1, 1, 0, 0])
    distances = np.array([0.1, 0.4, 0.9, 0.3])
    result = evaluate_pairs(distances, labels, "distance", 0.5)
    assert result["accuracy"] == pytest.approx(0.75)  # 0.3 is a different pair called same
    assert result["roc_auc"] == pytest.approx(0.75)
    assert result["best_accuracy"] == pytest.approx(0.75)
    assert result["eer"] == pytest.approx(0.5)
    assert result["eer_threshold"] > 0


def test_needs_both_kinds_of_pair():
    with pytest.raises(ValueError):
        evaluate_pairs([0.1, 0.2], [1, 1], "similarity", 0.5)


def test_roc_plot_and_json_summary(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat([1, 0], 50)
    result = evaluate_pairs(rng.random(100) + labels * 0.5, labels, "similarity", 0.5)
    plot_roc(result, str(tmp_path / "roc.png"))
    assert (tmp_path / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert "roc" not in summary(result) and summary(result)["pairs"] == 100


@pytest.mark.parametrize("scoreKind", ["similarity", "distance"])
def test_the_best_accuracy_is_the_accuracy_at_the_best_threshold(scoreKind):
    # an early model gives many pairs one score: the report must not contradict itself
    rng = np.random.default_rng(0)
    for _ in range(50):
        scores = rng.choice([0.2, 0.5, 0.5013, 0.8], size=36).astype(np.float64)
        labels = rng.integers(0, 2, size=36)
        labels[:2] = (0, 1)
        evaluation = evaluate_pairs(scores, labels, scoreKind, 0.5)
        again = evaluate_pairs(scores, labels, scoreKind, evaluation["best_threshold"])
        assert again["accuracy"] == pytest.approx(evaluation["best_accuracy"])
        assert evaluation["best_accuracy"] >= evaluation["accuracy"]
