import numpy as np
import pytest

from pyimagesearch.losses import contrastive_loss, make_contrastive_loss


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
