import numpy as np
import pytest

from pyimagesearch.data.digits import make_digits, mnist_normalise


def test_rendered_digits_look_like_mnist():
    (images, labels) = make_digits(40, seed=0)
    assert images.shape == (40, 28, 28) and images.dtype == np.uint8
    assert list(labels[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    # white on black with a 4-pixel empty border, like MNIST's 20x20 box in 28x28
    assert (images[:, :2, :] == 0).all() and (images[:, :, -2:] == 0).all()
    assert 20 < images.mean() < 80


def test_rendering_is_reproducible():
    assert (make_digits(5, seed=3)[0] == make_digits(5, seed=3)[0]).all()
    assert (make_digits(5, seed=3)[0] != make_digits(5, seed=4)[0]).any()


def test_mnist_normalise_fits_and_centres_by_mass():
    image = np.zeros((100, 60), np.uint8)
    image[10:90, 5:25] = 255  # a tall bar off to the left
    out = mnist_normalise(image)
    rows = np.flatnonzero(out.max(axis=1) > 25)
    assert out.shape == (28, 28)
    assert 19 <= len(rows) <= 22  # the longer side fitted into 20 pixels
    (ys, xs) = np.indices(out.shape)
    mass = out.astype(float)
    assert abs((ys * mass).sum() / mass.sum() - 13.5) < 0.6
    assert abs((xs * mass).sum() / mass.sum() - 13.5) < 0.6


def test_mnist_normalise_rejects_a_blank_image():
    with pytest.raises(ValueError, match="blank"):
        mnist_normalise(np.zeros((28, 28)))
