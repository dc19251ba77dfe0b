# import the necessary packages
import os

import keras
import numpy as np
from keras import ops


def make_pair_indices(labels, rng=None):
    """Draw the tutorial's pairs as indices into the image array.

    For every image i: a positive pair (i, a random image of the same class; it may be i
    itself when the class has one image) labelled 1, then a negative pair (i, a random image
    of any other class) labelled 0. Returns (indices of shape (2N, 2), labels of shape (2N, 1)).
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"labels must be one label per image, got shape {labels.shape}")
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(f"need images of at least two classes to make negative pairs, "
                         f"got {len(classes)} class(es)")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng

    anchors = np.arange(len(labels))
    positives = np.empty_like(anchors)
    negatives = np.empty_like(anchors)
    for label in classes:
        members = anchors[labels == label]
        others = anchors[labels != label]
        positives[members] = members[rng.integers(0, len(members), len(members))]
        negatives[members] = others[rng.integers(0, len(others), len(members))]

    # interleave as the tutorial does: image i's positive pair, then its negative pair
    pairIdx = np.empty((2 * len(labels), 2), dtype=np.int64)
    pairIdx[0::2, 0] = anchors
    pairIdx[0::2, 1] = positives
    pairIdx[1::2, 0] = anchors
    pairIdx[1::2, 1] = negatives
    pairLabels = np.tile(np.array([[1], [0]], dtype=np.float32), (len(labels), 1))
    return pairIdx, pairLabels


def pairs_by_anchor(pairIdx, pairLabels):
    """Regroup make_pair_indices's interleaved pairs by their shared first image.

    Returns (rows (N, 3) of anchor, positive partner, negative partner; labels (N, 2) of
    [1, 0]): the same 2N pairs, but each anchor appears once, so a model can embed it once
    for both of its pairs.
    """
    pairIdx = np.asarray(pairIdx)
    pairLabels = np.asarray(pairLabels).reshape(-1)
    if (len(pairIdx) % 2 or (pairIdx[0::2, 0] != pairIdx[1::2, 0]).any()
            or (pairLabels[0::2] != 1).any() or (pairLabels[1::2] != 0).any()):
        raise ValueError("pairs must come as make_pair_indices gives them: each image's "
                         "positive pair, then its negative pair")
    rows = np.stack([pairIdx[0::2, 0], pairIdx[0::2, 1], pairIdx[1::2, 1]], axis=1)
    return rows, np.tile(np.array([[1, 0]], np.float32), (len(rows), 1))


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


def plot_training(H, plotPath):
    """Plot the loss (and accuracy, when it was measured) of a training History to plotPath.

    The plot is saved with save_figure, so a failure never replaces a good plot.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = H.history if hasattr(H, "history") else H
    curves = [("loss", "train_loss"), ("val_loss", "val_loss"),
              ("accuracy", "train_acc"), ("val_accuracy", "val_acc")]
    # construct a plot that plots and saves the training history
    with plt.style.context("ggplot"):
        fig = plt.figure()
        for key, name in curves:
            if key in history:
                plt.plot(np.arange(1, len(history[key]) + 1), history[key], label=name)
        plt.title("Training Loss and Accuracy" if "accuracy" in history else "Training Loss")
        plt.xlabel("Epoch #")
        plt.ylabel("Loss/Accuracy" if "accuracy" in history else "Loss")
        plt.legend(loc="lower left")
        save_figure(fig, plotPath)


def save_figure(fig, path):
    """Save a matplotlib figure as PNG at path, then close it.

    The figure goes to a temporary file first, so a failure never leaves a half-written image
    in place of a good one.
    """
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmpPath = f"{path}.partial-{os.getpid()}"
    try:
        fig.savefig(tmpPath, format="png")
        os.replace(tmpPath, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmpPath):
            os.remove(tmpPath)
