import numpy as np
import pytest

from pyimagesearch.models.losses import contrastive_loss, make_contrastive_loss


def test_contrastive_loss_on_hand_computed_cases():
    y = np.array([[1.0], [0.0], [0.0], [1.0]], np.float32)
    d = np.array([[0.5], [0.25], [1.5], [0.0]], np.float32)
    # same pairs cost d^2: 0.25 and 0; different pairs max(1 - d, 0)^2: 0.5625 and 0
    expected = (0.25 + 0.5625 + 0.0 + 0.0) / 4
    assert float(contrastive_loss(y, d)) == pytest.approx(expected)
    # margin 2: the different pairs cost (2 - 0.25)^2 and (2 - 1.5)^2
    expected2 = (0.25 + 1.75 ** 2 + 0.5 ** 2 + 0.0) / 4
    assert float(contrastive_loss(y, d, margin=2.0)) == pytest.approx(expected2)
    assert float(make_contrastive_loss(2.0)(y, d)) == pytest.approx(expected2)


def test_integer_labels_are_cast():
    y = np.array([[1], [0]], np.int64)
    d = np.array([[1.0], [2.0]], np.float32)
    assert float(contrastive_loss(y, d)) == pytest.approx(0.5)


def test_margin_must_be_positive():
    with pytest.raises(ValueError):
        make_contrastive_loss(0.0)


def triplet(labels, embeddings, **kwargs):
    from pyimagesearch.models.losses import triplet_loss
    return float(triplet_loss(np.array(labels, np.float32),
                              np.array(embeddings, np.float32), **kwargs))


@pytest.mark.parametrize("mining", ["semi_hard", "batch_hard", "random"])
def test_triplet_loss_is_zero_when_every_triplet_meets_the_margin(mining):
    # two tight classes far apart: every positive is nearer than any negative by > margin
    labels = [0, 0, 1, 1]
    embeddings = [[0.0, 0.0], [0.1, 0.0], [5.0, 0.0], [5.1, 0.0]]
    assert triplet(labels, embeddings, margin=1.0, mining=mining) == 0.0
    # overlapping classes: some triplet violates the margin
    embeddings = [[0.0, 0.0], [2.0, 0.0], [0.5, 0.0], [2.5, 0.0]]
    assert triplet(labels, embeddings, margin=1.0, mining=mining) > 0.0


def test_batch_hard_mining_takes_the_hardest_triplet_of_the_batch():
    labels = [0, 0, 0, 1, 1]
    points = [0.0, 1.0, 3.0, 3.5, 6.0]
    embeddings = [[p] for p in points]
    # by hand: each anchor's farthest positive minus its nearest negative, plus the margin
    expected = np.mean([max(3.0 - 3.5 + 1, 0), max(2.0 - 2.5 + 1, 0), max(3.0 - 0.5 + 1, 0),
                        max(2.5 - 0.5 + 1, 0), max(2.5 - 3.0 + 1, 0)])
    assert triplet(labels, embeddings, margin=1.0, mining="batch_hard") == \
        pytest.approx(expected, abs=1e-5)


def test_semi_hard_mining_takes_the_nearest_negative_beyond_the_positive():
    labels = [0, 0, 1, 1]
    embeddings = [[0.0], [1.0], [0.5], [1.5]]
    # anchor 0: positive at 1.0; negatives at 0.5 (nearer: not semi-hard) and 1.5 -> 1.5
    # anchor 1: positive at 1.0; negatives at 0.5, 0.5: none beyond -> hardest, 0.5
    # anchor 2 (0.5): positive at 1.0; negatives at 0.5, 0.5 -> none beyond -> 0.5
    # anchor 3 (1.5): positive at 1.0; negatives at 1.5 (beyond) and 0.5 -> 1.5
    expected = np.mean([1.0 - 1.5 + 1, 1.0 - 0.5 + 1, 1.0 - 0.5 + 1, 1.0 - 1.5 + 1])
    assert triplet(labels, embeddings, margin=1.0, mining="semi_hard") == \
        pytest.approx(expected, abs=1e-5)
    with pytest.raises(ValueError, match="mining must be one of"):
        triplet(labels, embeddings, mining="hardest")


def test_anchors_without_a_positive_do_not_count():
    # class 2's single image has no positive: only the others' triplets count
    labels = [0, 0, 2]
    embeddings = [[0.0], [0.2], [0.3]]
    assert triplet(labels, embeddings, margin=1.0, mining="batch_hard") == \
        pytest.approx(np.mean([0.2 - 0.3 + 1, 0.2 - 0.1 + 1]), abs=1e-5)


def test_nca_loss_on_hand_computed_cases():
    from pyimagesearch.models.losses import nca_loss

    embeddings = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32)
    # each image's nearest other is of its class: minus the log of picking it, over 0.1
    right = float(nca_loss(np.array([0, 0, 1, 1]), embeddings, temperature=0.1))
    assert right == pytest.approx(np.log(1 + 2 * np.exp(-10)), abs=2e-6)
    # each image's only classmate is at a right angle, its nearest other is not a classmate
    wrong = float(nca_loss(np.array([0, 1, 0, 1]), embeddings, temperature=0.1))
    assert wrong == pytest.approx(np.log(np.exp(10) + 2), rel=1e-4)


def test_nca_loss_leaves_out_images_without_a_classmate():
    from pyimagesearch.models.losses import nca_loss

    embeddings = np.array([[1, 0], [1, 0], [0, 1]], np.float32)
    alone = float(nca_loss(np.array([0, 0, 7]), embeddings, temperature=0.1))
    pair = float(nca_loss(np.array([0, 0]), embeddings[:2], temperature=0.1))
    # the lone image only adds itself as a far negative of the other two
    assert alone == pytest.approx(np.log(1 + np.exp(-10)), abs=2e-6) and pair < 2e-6


def test_cosface_loss_on_hand_computed_cases():
    from pyimagesearch.models.losses import cosface_loss

    # two images, three classes: the softmax over scale * (cosine - margin at the own class)
    cosines = np.array([[0.9, 0.1, -0.2], [0.3, 0.5, 0.4]], np.float32)
    labels = np.array([0, 2], np.float32)
    (scale, margin) = (30.0, 0.35)
    logits = scale * (cosines - margin * np.eye(3)[[0, 2]])
    expected = np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[[0, 1], [0, 2]])
    assert float(cosface_loss(labels, cosines, margin, scale)) == pytest.approx(expected,
                                                                             rel=1e-5)


def test_cosface_margin_makes_a_near_win_cost():
    from pyimagesearch.models.losses import cosface_loss

    # the image is nearer its own centre than the other, but by less than the margin: the
    # margin is what still makes it pay; by more than the margin it costs almost nothing
    near = np.array([[0.6, 0.5]], np.float32)
    far = np.array([[0.9, 0.1]], np.float32)
    labels = np.array([0], np.float32)
    assert float(cosface_loss(labels, near, 0.35)) > float(cosface_loss(labels, near, 0.0))
    assert float(cosface_loss(labels, near, 0.35)) > 1.0
    assert float(cosface_loss(labels, far, 0.35)) < 1e-3
