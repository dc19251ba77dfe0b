"""The tutorial's utilities: make_pairs (and make_triplets, the series' next part),
euclidean_distance and plot_training."""
# import the necessary packages
import keras
import numpy as np
from keras import ops

from pyimagesearch.data.pairs import make_pair_indices, make_triplet_indices
from pyimagesearch.plotting import plot_training  # noqa: F401 (the tutorial's name)


def make_pairs(images, labels, rng=None):
    """Build one positive and one negative pair for every image, as the tutorial does.

    Returns (pairImages of shape (2N, 2, *image shape), pairLabels of shape (2N, 1)); the pairs
    keep the images' dtype (uint8 MNIST stays uint8, a quarter of float32's memory).
    """
    images = np.asarray(images)
    if len(images) != len(np.asarray(labels)):
        raise ValueError(f"got {len(images)} images but {len(np.asarray(labels))} labels")
    pairIdx, pairLabels = make_pair_indices(labels, rng)
    return images[pairIdx], pairLabels


def make_triplets(images, labels, rng=None):
    """Build one triplet for every image: the image (anchor), a random image of its class
    (positive) and a random image of another class (negative), every class anchoring.

    Returns tripletImages of shape (N, 3, *image shape), in the images' dtype; rng (a seed or
    a numpy Generator) makes the draw repeatable.
    """
    images = np.asarray(images)
    if len(images) != len(np.asarray(labels)):
        raise ValueError(f"got {len(images)} images but {len(np.asarray(labels))} labels")
    return images[make_triplet_indices(labels, rng)]


@keras.saving.register_keras_serializable(package="pyimagesearch")
def euclidean_distance(vectors):
    """Euclidean distance between two batches of vectors, shape (batch, 1).

    The sum of squares is clamped at epsilon before the square root so the distance (and its
    gradient) is never NaN when the two vectors are equal.
    """
    # unpack the vectors into separate lists
    (featsA, featsB) = vectors

    # compute the sum of squared distances between the vectors
    sumSquared = ops.sum(ops.square(featsA - featsB), axis=1, keepdims=True)

    # return the euclidean distance between the vectors
    return ops.sqrt(ops.maximum(sumSquared, keras.backend.epsilon()))
