"""The drawn pairs in steps that share their images: the order (shared_image_steps), the
pipeline (shared_image_dataset) and the training view that scores them
(build_shared_image_model)."""
import keras
import numpy as np
import pytest

from pyimagesearch.data.pairs import make_pair_indices
from pyimagesearch.data.samplers import shared_image_dataset, shared_image_steps
from pyimagesearch.models.views import build_shared_image_model
from pyimagesearch.siamese_network import build_pair_model


def check_steps(pairIdx, pairsPerStep, steps):
    """Every pair once, in steps of pairsPerStep (the last may be short), each step's images
    distinct and its positions pointing at the pair's own two images."""
    (order, images, splits, local) = steps
    assert sorted(order) == list(range(len(pairIdx)))
    for step in range(len(splits) - 1):
        stepImages = images[splits[step]:splits[step + 1]]
        assert len(set(stepImages)) == len(stepImages)
        rows = slice(step * pairsPerStep, (step + 1) * pairsPerStep)
        np.testing.assert_array_equal(stepImages[local[rows]], pairIdx[order[rows]])
    assert len(splits) - 1 == -(-len(pairIdx) // pairsPerStep)


def test_the_tutorials_pairs_share_their_images_in_each_step():
    labels = np.arange(3000) % 10
    (pairIdx, _) = make_pair_indices(labels, rng=0)
    steps = shared_image_steps(pairIdx, 64, np.random.default_rng(1))
    check_steps(pairIdx, 64, steps)
    # about one sister pass a pair, against 1.5 for an image with its two partners
    assert len(steps[1]) / len(pairIdx) < 1.1
    again = shared_image_steps(pairIdx, 64, np.random.default_rng(2))
    assert not np.array_equal(steps[0], again[0])  # another generator, another order


def test_steps_take_pairs_of_an_image_with_itself_and_repeated_pairs():
    labels = np.array([0, 1, 1, 2, 2, 2])  # class 0 has one image: its positive is itself
    (pairIdx, _) = make_pair_indices(labels, rng=0)
    pairIdx = np.concatenate([pairIdx, pairIdx[:3]])
    for pairsPerStep in (1, 4, 64):
        check_steps(pairIdx, pairsPerStep, shared_image_steps(pairIdx, pairsPerStep,
                                                              np.random.default_rng(0)))
    with pytest.raises(ValueError, match="pairsPerStep"):
        shared_image_steps(pairIdx, 0, np.random.default_rng(0))


def epoch_pairs(dataset):
    """Each pass's pairs as (image number, image number, label), read back from the pixels."""
    seen = []
    for ((local, images), labels) in dataset:
        numbers = np.round(images.numpy()[:, 0, 0, 0] * 255).astype(int)
        assert local.shape[0] == labels.shape[0] <= 8
        seen.extend(zip(*numbers[local.numpy()].T, labels.numpy()[:, 0]))
    return seen


def test_the_dataset_holds_the_drawn_pairs_every_epoch_in_a_new_order():
    labels = np.arange(30) % 3
    images = np.arange(30, dtype=np.uint8).reshape(30, 1, 1)
    (pairIdx, pairLabels) = make_pair_indices(labels, rng=0)
    expected = sorted(zip(*pairIdx.T, pairLabels[:, 0]))
    dataset = shared_image_dataset(images, pairIdx, pairLabels, 8, seed=0)
    assert int(dataset.cardinality()) == 8  # Keras knows the steps per epoch
    epochs = [epoch_pairs(dataset) for _ in range(2)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == expected
    assert epochs[0] != epochs[1]
    fixed = shared_image_dataset(images, pairIdx, pairLabels, 8, seed=0, fixed=True)
    assert epoch_pairs(fixed) == epoch_pairs(fixed)  # validation: the same steps each time
    assert sorted(epoch_pairs(fixed)) == expected


def test_the_dataset_redraws_the_pairs_after_the_first_pass():
    labels = np.arange(30) % 3
    images = np.arange(30, dtype=np.uint8).reshape(30, 1, 1)
    (pairIdx, pairLabels) = make_pair_indices(labels, rng=0)
    rng = np.random.default_rng(5)
    dataset = shared_image_dataset(images, pairIdx, pairLabels, 8, seed=0,
                                   redraw=lambda: make_pair_indices(labels, rng))
    first = epoch_pairs(dataset)
    assert sorted(first) == sorted(zip(*pairIdx.T, pairLabels[:, 0]))
    second = epoch_pairs(dataset)
    assert sorted(second) != sorted(first) and len(second) == len(first)
    # the tutorial's rules still hold: a positive and a negative pair for every image
    for (a, b, label) in second:
        assert (labels[a] == labels[b]) == (label == 1)


def test_the_view_scores_the_pairs_as_the_pair_model_does_and_trains_it():
    keras.utils.set_random_seed(0)
    model = build_pair_model((28, 28, 1))
    view = build_shared_image_model(model)
    assert view.count_params() == model.count_params()
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    local = np.array([[0, 1], [1, 2], [4, 0], [3, 3]], np.int32)
    scores = view([local, x], training=False)
    expected = model.predict([x[local[:, 0]], x[local[:, 1]]], verbose=0)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    before = model.get_weights()
    view.compile(loss="binary_crossentropy", optimizer="adam")
    view.train_on_batch([local, x], np.array([[1], [0], [0], [1]], np.float32))
    assert any((a != b).any() for (a, b) in zip(before, model.get_weights()))
