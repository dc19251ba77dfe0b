import numpy as np
import pytest

from pyimagesearch.search.recognition import (
    answer_queries,
    draw_episodes,
    one_shot_accuracy,
    open_set_rates,
    retrieval_metrics,
    wilson_interval,
)


def test_retrieval_on_hand_made_embeddings():
    # class 0 at 0, 1, 2; class 1 at 10, 11 and one stray at 1.5
    embeddings = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [1.5]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    metrics = retrieval_metrics(embeddings, labels, ks=(1, 2))
    # nearest others: 0->1 (0), 1->5 (1: wrong), 2->5 (wrong), 10->11, 11->10, 1.5->1 or 2
    assert metrics["precision_at_1"] == pytest.approx(3 / 6)
    assert metrics["recall_at_2"] == pytest.approx(5 / 6)
    # MAP@R by hand, R = 2 for every image
    # 0: 1 (hit), 1.5 (miss) -> 1/2; 1: 1.5 (miss), 0 or 2 (hit at 2: 1/2) -> 1/4;
    # 2: 1.5 (miss), 1 (hit: 1/2) -> 1/4; 10: 11 (hit), 2 (miss) -> 1/2;
    # 11: 10 (hit), 2 (miss) -> 1/2; 1.5: 1 or 2 (miss), the other (miss) -> 0
    assert metrics["map_at_r"] == pytest.approx((0.5 + 0.25 + 0.25 + 0.5 + 0.5 + 0) / 6)


def test_separated_classes_retrieve_perfectly():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 20)
    embeddings = labels[:, None] * 10.0 + rng.normal(size=(100, 3))
    metrics = retrieval_metrics(embeddings, labels)
    assert metrics["precision_at_1"] == metrics["map_at_r"] == metrics["recall_at_10"] == 1.0


def test_episodes_are_seeded_and_follow_the_protocol():
    labels = np.repeat(np.arange(12), 6)
    first = draw_episodes(labels, ways=5, shots=2, episodes=30, seed=3)
    again = draw_episodes(labels, ways=5, shots=2, episodes=30, seed=3)
    other = draw_episodes(labels, ways=5, shots=2, episodes=30, seed=4)
    assert all(np.array_equal(a[0], b[0]) and a[2] == b[2] for (a, b) in zip(first, again))
    assert any(not np.array_equal(a[0], b[0]) for (a, b) in zip(first, other))
    for (support, supportLabels, query, queryClass) in first:
        assert len(support) == 10 and len(set(supportLabels)) == 5
        assert np.array_equal(labels[support], supportLabels)
        assert query not in support and labels[query] == queryClass in supportLabels
    with pytest.raises(ValueError, match="20-way 1-shot episodes need 20 classes"):
        draw_episodes(labels, ways=20, shots=1, episodes=1)


def test_one_shot_accuracy_from_perfect_to_chance():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 10)
    separated = labels[:, None] * 10.0 + rng.normal(size=(100, 2))
    result = one_shot_accuracy(separated, labels, ways=5, shots=1, episodes=200)
    assert result["accuracy"] == 1.0 and result["chance"] == 0.2
    noise = rng.normal(size=(100, 2))
    result = one_shot_accuracy(noise, labels, ways=5, shots=1, episodes=2000, seed=1)
    assert result["low"] < 0.2 + 0.04 and result["high"] > 0.2 - 0.04


def test_wilson_interval():
    (low, high) = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)


def test_open_set_answers_and_rates():
    gallery = np.array([[0.0], [10.0]])
    answers = answer_queries(gallery, ["a", "b"], np.array([[0.5], [9.0], [5.0], [30.0]]),
                             threshold=2.0)
    assert answers == ["a", "b", None, None]
    rates = open_set_rates(answers, ["a", "a", "c", "c"], {"a", "b"})
    assert rates == {"unknown_rejected": 1.0, "known_right": 0.5, "unknown_queries": 2,
                     "known_queries": 2}
