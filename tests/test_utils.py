import numpy as np
import pytest

from pyimagesearch.data.pairs import make_pair_indices, pairs_by_anchor
from pyimagesearch.utils import euclidean_distance, make_pairs, plot_training


def test_make_pairs_shapes_and_dtype():
    images = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    labels = np.array([0, 0, 1, 1, 2, 2])
    (pairs, pairLabels) = make_pairs(images, labels, rng=0)
    assert pairs.shape == (12, 2, 4, 4)
    assert pairLabels.shape == (12, 1)
    assert pairs.dtype == np.uint8


def test_one_positive_then_one_negative_pair_per_image():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 500)
    images = np.arange(500)  # each "image" is its own index, so pairs can be traced back
    (pairs, pairLabels) = make_pairs(images, labels, rng=1)
    assert (pairs[0::2, 0] == images).all() and (pairs[1::2, 0] == images).all()
    assert (pairLabels[0::2] == 1).all() and (pairLabels[1::2] == 0).all()
    assert (labels[pairs[0::2, 1]] == labels).all()
    assert (labels[pairs[1::2, 1]] != labels).all()


def test_make_pairs_draws_partners_at_random_and_repeatably():
    labels = np.repeat(np.arange(3), 50)
    (first, _) = make_pair_indices(labels, rng=5)
    (again, _) = make_pair_indices(labels, rng=5)
    (other, _) = make_pair_indices(labels, rng=6)
    assert (first == again).all()
    assert (first != other).any()
    # negatives come from every other class, not just one
    negatives = labels[first[1::2, 1]][labels == 0]
    assert set(negatives) == {1, 2}


def test_make_pairs_rejects_bad_input():
    with pytest.raises(ValueError, match="two classes"):
        make_pairs(np.zeros((4, 2, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="labels"):
        make_pairs(np.zeros((4, 2, 2)), np.array([0, 1, 0]))


def test_euclidean_distance_values():
    a = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]], np.float32)
    b = np.array([[3.0, 4.0], [1.0, 1.0], [0.0, 4.0]], np.float32)
    d = np.asarray(euclidean_distance((a, b)))
    assert d.shape == (3, 1)
    np.testing.assert_allclose(d[[0, 2], 0], [5.0, 5.0], rtol=1e-6)
    # equal vectors: clamped at sqrt(epsilon), not 0 and not NaN
    assert 0 < d[1, 0] < 1e-3


def test_euclidean_distance_gradient_is_finite_at_zero_distance():
    import tensorflow as tf
    a = tf.Variable(np.ones((2, 3), np.float32))
    b = tf.constant(np.ones((2, 3), np.float32))
    with tf.GradientTape() as tape:
        d = tf.reduce_sum(euclidean_distance((a, b)))
    grad = tape.gradient(d, a)
    assert np.isfinite(grad.numpy()).all()


def test_plot_training_writes_the_plot(tmp_path):
    history = {"loss": [0.7, 0.5], "val_loss": [0.6, 0.5], "accuracy": [0.6, 0.8],
               "val_accuracy": [0.7, 0.8]}
    path = tmp_path / "sub" / "plot.png"
    plot_training(history, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["plot.png"]


def test_plot_training_failure_keeps_the_previous_plot(tmp_path, monkeypatch):
    import matplotlib.figure
    path = tmp_path / "plot.png"
    path.write_bytes(b"previous")

    def broken_savefig(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_savefig)
    with pytest.raises(OSError):
        plot_training({"loss": [1.0]}, str(path))
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_pairs_by_anchor_holds_the_same_pairs():
    labels = np.random.default_rng(0).integers(0, 4, 40)
    (pairIdx, pairLabels) = make_pair_indices(labels, rng=2)
    (rows, rowLabels) = pairs_by_anchor(pairIdx, pairLabels)
    assert rows.shape == (40, 3) and rowLabels.shape == (40, 2)
    rebuilt = {(a, b, 1) for (a, b, _) in rows} | {(a, c, 0) for (a, _, c) in rows}
    original = {(a, b, int(y)) for ((a, b), y) in zip(pairIdx, pairLabels[:, 0])}
    assert rebuilt == original and len(rebuilt) == 80
    assert (rowLabels == [1, 0]).all()
    with pytest.raises(ValueError):
        pairs_by_anchor(pairIdx[::-1], pairLabels[::-1])


def test_make_triplets_anchors_every_image_and_is_seeded():
    from pyimagesearch.data.pairs import make_triplet_indices
    from pyimagesearch.utils import make_triplets

    labels = np.repeat(np.arange(4), 5)
    images = np.arange(20, dtype=np.uint8)[:, None, None] * np.ones((1, 3, 3), np.uint8)
    triplets = make_triplets(images, labels, rng=7)
    assert triplets.shape == (20, 3, 3, 3) and triplets.dtype == np.uint8
    np.testing.assert_array_equal(triplets, make_triplets(images, labels, rng=7))
    rows = make_triplet_indices(labels, rng=7)
    assert rows[:, 0].tolist() == list(range(20))  # every image, so every class, anchors
    assert (labels[rows[:, 1]] == labels[rows[:, 0]]).all()
    assert (labels[rows[:, 2]] != labels[rows[:, 0]]).all()
    assert not np.array_equal(rows, make_triplet_indices(labels, rng=8))


def test_a_short_history_is_drawn_as_points(tmp_path, monkeypatch):
    # after one epoch each curve is a single point: without markers the chart is empty
    import pyimagesearch.plotting

    drawn = []
    monkeypatch.setattr(pyimagesearch.plotting, "save_figure",
                        lambda fig, path: drawn.append(fig))
    plot_training({"loss": [0.7], "val_loss": [0.6]}, str(tmp_path / "plot.png"))
    lines = drawn[0].axes[0].get_lines()
    assert len(lines) == 2 and all(line.get_marker() == "o" for line in lines)
