"""Image pairs: drawing them (as indices into the images), feeding them to training (tf.data
pipelines that gather or decode each batch), and scoring them with a model.

The images are either uint8 arrays (N, height, width) held once in memory (MNIST), or
ImageFiles (pyimagesearch.data.image_folders) decoded from disk batch by batch, in parallel; the
pairs are always indices into them.
"""
import os

import numpy as np

from pyimagesearch.data.image_folders import ImageFiles

# images per call into a model when scoring or embedding outside training: a call's
# activations grow with it (the tutorial's first convolution alone holds 200 KB per 28x28
# image in float32, so 2,048 images at once cost about 400 MB for that layer alone)
SCORE_BATCH = 256


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


def make_triplet_indices(labels, rng=None):
    """Draw one triplet per image, as indices: rows (N, 3) of the image (the anchor), a
    random image of its class (the positive) and a random image of another class (the
    negative); the same partners as make_pair_indices draws with the same generator."""
    return pairs_by_anchor(*make_pair_indices(labels, rng))[0]


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


def input_shape_of(images):
    """(height, width, channels) of one image of images (a uint8 array or ImageFiles)."""
    if isinstance(images, ImageFiles):
        return images.input_shape
    return (*np.shape(images)[1:3], 1)


def load_images(images, indices):
    """images[indices] as float32 (n, height, width, channels) in [0, 1], from a uint8 array
    (N, height, width), from ImageFiles, or from float images (N, height, width, channels)
    scaled already."""
    if isinstance(images, ImageFiles):
        return images.load(indices)
    images = np.asarray(images)
    if images.dtype.kind == "f":
        return images[np.asarray(indices)].astype(np.float32, copy=False)
    return images[np.asarray(indices)][..., np.newaxis].astype(np.float32) / 255.0


def pair_dataset(images, pairIdx, pairLabels, batchSize, shuffle=False, seed=None, skip=0):
    """A tf.data pipeline of (tuple of image batches, labels) scaled to [0, 1].

    Each row of pairIdx names the images of one example: two for a pair (as from
    make_pair_indices), three for an anchor with its positive and negative partner (as from
    pairs_by_anchor). The images stay uint8 and the pairs stay indices; each batch is gathered
    and scaled on the fly, so a full MNIST epoch never holds float copies of its 120,000 pairs.
    With shuffle, every pass (every epoch) takes the pairs in a new order, drawn from seed; a
    resumed run skips the orders of the passes it has done.
    """
    import tensorflow as tf

    (pairIdx, pairLabels) = (np.asarray(pairIdx), np.asarray(pairLabels, np.float32))
    if not shuffle:
        ds = tf.data.Dataset.from_tensor_slices((pairIdx, pairLabels))
        return gathered_batches(ds, images, batchSize)
    rng = np.random.default_rng(seed)

    def draw():
        order = rng.permutation(len(pairIdx))
        return pairIdx[order].astype(np.int64), pairLabels[order]

    ds = each_pass(draw, (tf.int64, tf.float32), slicer(pairIdx.shape, pairLabels.shape),
                   len(pairIdx), skip=skip)
    return gathered_batches(ds, images, batchSize)


def resampled_pair_dataset(images, labels, batchSize, seed=None, skip=0):
    """Like pair_dataset over pairs_by_anchor's rows, shuffled, but every pass over it (every
    epoch) draws fresh pairs: each image still anchors one positive and one negative pair,
    with new partners each time, so the model sees far more distinct pairs. A resumed run
    skips the draws of the passes it has done.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    count = len(labels)

    def draw():
        (rows, rowLabels) = pairs_by_anchor(*make_pair_indices(labels, rng))
        order = rng.permutation(count)
        return rows[order].astype(np.int64), rowLabels[order].astype(np.float32)

    ds = each_pass(draw, (tf.int64, tf.float32), slicer((count, 3), (count, 2)), count,
                   skip=skip)
    return gathered_batches(ds, images, batchSize)


def slicer(rowShape, labelShape):
    """A pass's arrays (as a numpy_function gives them, shapes unknown) as a dataset of rows."""
    import tensorflow as tf

    def rows_of_pass(rows, rowLabels):
        return tf.data.Dataset.from_tensor_slices(
            (tf.reshape(rows, rowShape), tf.reshape(rowLabels, labelShape)))

    return rows_of_pass


def each_pass(draw, dtypes, slices, cardinality, fixed=False, skip=0):
    """A dataset of slices(*draw()), where draw() gives numpy arrays of dtypes: called anew on
    every pass over the dataset (Keras iterates it afresh every epoch), or once when fixed.
    cardinality, the elements of a pass, tells Keras the steps of an epoch. skip passes are
    drawn and dropped first: a resumed run goes on with the draws it would have had."""
    import tensorflow as tf

    if fixed:
        return slices(*draw())
    for _ in range(skip):
        draw()

    # a named function, not a lambda: AutoGraph finds a lambda by its source text
    def draw_pass(_):
        return tf.numpy_function(draw, [], dtypes, stateful=True)

    ds = tf.data.Dataset.range(1).map(draw_pass).flat_map(slices)
    return ds.apply(tf.data.experimental.assert_cardinality(cardinality))


def gathered_batches(ds, images, batchSize):
    """Batch a dataset of (index row, label) pairs and gather each batch's images as a tuple
    of float [0, 1] batches, one per column: gathered from the uint8 images held once as a
    constant, or decoded from their files (a map in parallel over the batches)."""
    import tensorflow as tf

    load = image_loader(images)

    def gather(rows, rowLabels):
        return tuple(load(rows[:, j]) for j in range(int(rows.shape[1]))), rowLabels

    return ds.batch(batchSize).map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE)


def image_loader(images):
    """A function from a tensor of indices to those images as a float [0, 1] batch: gathered
    from the uint8 images held once as a constant, or decoded from their files."""
    if isinstance(images, ImageFiles):
        # decoded once already (kept in memory), or decoded batch by batch
        return _gatherer(images.pixels) if images.pixels is not None else _decoder(images)
    return _gatherer(images)


def _gatherer(images):
    import tensorflow as tf

    images = np.asarray(images, np.uint8)
    # (N, height, width) arrays get their channel axis; decoded files have theirs
    images = tf.constant(images[..., np.newaxis] if images.ndim == 3 else images)
    return lambda indices: tf.cast(tf.gather(images, indices), tf.float32) / 255.0


def _decoder(files):
    import tensorflow as tf

    # OpenCV decodes (the one image loader, as the test script does), so training sees the
    # very pixels that scoring will; it releases Python's lock, so the parallel map scales
    # as the file system's bytes: a name that is not valid UTF-8 still round-trips
    paths = tf.constant([os.fsencode(path) for path in files.paths])

    def decode(indices):
        batch = tf.numpy_function(files.load_paths, [tf.gather(paths, indices)], tf.float32,
                                  stateful=False)
        return tf.ensure_shape(batch, (None, *files.input_shape))
    return decode


def score_pairs(scoreBatch, images, pairIdx, batchSize=SCORE_BATCH):
    """Score the pairs images[pairIdx[:, 0]] against images[pairIdx[:, 1]], batchSize pairs at
    a time: scoreBatch(imagesA, imagesB) gives one score per pair of two float [0, 1] batches.

    The one way pairs are scored: training scores its validation pairs with the Keras model,
    tools/evaluate.py and SiameseModel.predict with the SavedModel. images are as for
    load_images (float arrays already scaled pass through), so memory stays bounded by the
    batch. Returns a float64 array (n,).
    """
    pairIdx = np.asarray(pairIdx).reshape(-1, 2)
    scores = [np.asarray(scoreBatch(load_images(images, rows[:, 0]),
                                    load_images(images, rows[:, 1])), np.float64).reshape(-1)
              for rows in (pairIdx[start:start + batchSize]
                           for start in range(0, len(pairIdx), batchSize))]
    return np.concatenate(scores) if scores else np.zeros(0)


def embed_images(embedBatch, images, indices, batchSize=SCORE_BATCH):
    """The embeddings of images[indices] (images as for load_images), batchSize at a time:
    embedBatch(a float [0, 1] batch) gives its (n, d) embeddings; float32 (n, d)."""
    indices = np.asarray(indices)
    batches = [np.asarray(embedBatch(load_images(images, indices[start:start + batchSize])),
                          np.float32) for start in range(0, len(indices), batchSize)]
    return np.concatenate(batches) if batches else np.zeros((0, 0), np.float32)
