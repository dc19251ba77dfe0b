"""Samplers: which images make up each training batch of a loss that finds its pairs or
triplets inside the batch, as tf.data pipelines of (images, labels) scaled to [0, 1].

- in_batch_dataset: twos of a class, every image once an epoch, for the pair losses trained
  on every pair of a batch (--pairs in_batch);
- class_balanced_dataset: P classes of K images, for the triplet and NCA losses (with every
  class also turned by a quarter, a half and three quarters, as three more classes);
- shared_image_dataset: the tutorial's drawn pairs, in steps that share their images.
"""
import collections
import itertools

import numpy as np

from pyimagesearch.data.pairs import each_pass, gathered_batches, image_loader, slicer

# the turns of --rotated-classes: each class as it is and by 90, 180 and 270 degrees
TURNS = 4


def class_batch_shape(labels, batchSize, turns=1):
    """(classes per batch, images per class) of class_balanced_dataset's batches: as many
    classes as a batch of batchSize holds with 4 images each (all of them for MNIST's 10),
    each class counted `turns` times."""
    classes = len(np.unique(labels)) * turns
    perBatch = min(classes, max(2, batchSize // 4))
    return perBatch, max(2, batchSize // perBatch)


def steps_per_epoch(sampler, count, batchSize, labels=None, views=1, turns=1):
    """Training steps in one epoch over count images: each image anchoring its two pairs
    (sampler "pairs"), in a batch with a mate of its class and every other image of the batch
    as a partner ("in_batch": batchSize / 2 images a step, the anchors of batchSize drawn
    pairs), or as many class-balanced batches as cover count images ("classes"), each image
    once however many views of it a batch holds, and once in each of its turns."""
    if sampler == "classes":
        (perBatch, perClass) = class_batch_shape(labels, batchSize, turns)
        return -(-count * turns // (perBatch * max(1, perClass // views)))
    if sampler == "in_batch":
        count = _in_twos(_members(labels))
    return -(-count // (batchSize // 2))


def _members(labels):
    """The indices of each class's images, one array per class."""
    labels = np.asarray(labels).reshape(-1)
    return [np.flatnonzero(labels == label) for label in np.unique(labels)]


def lone_classes(labels):
    """The labels of the classes with a single image: they can make no two, so in-batch pairs
    leave them out."""
    (values, counts) = np.unique(np.asarray(labels).reshape(-1), return_counts=True)
    return values[counts == 1].tolist()


def _in_twos(members):
    """How many images go into twos of a class: all but each odd-sized class's last."""
    return 2 * sum(len(m) // 2 for m in members)


def in_batch_dataset(images, labels, batchSize, seed=None, skip=0):
    """Batches of (images, labels) for a pair loss that takes every pair inside a batch:
    batchSize / 2 images a step, in twos of one class (so that every image has a positive
    partner in its batch, and most of the others are negatives), each image once an epoch (a
    class's odd one out sits the epoch out), drawn anew on every pass."""
    if batchSize % 4:
        raise ValueError(f"in-batch pairs need a batch size divisible by 4 (twos of a class, "
                         f"batchSize / 2 images a step), got {batchSize}")
    members = _members(labels)
    labels = np.asarray(labels).reshape(-1)
    count = _in_twos(members)
    if not count:
        raise ValueError("in-batch pairs need two images of one class at least; use --pairs "
                         "drawn")
    rng = np.random.default_rng(seed)

    def draw():
        twos = np.concatenate([rng.permutation(m)[:len(m) // 2 * 2].reshape(-1, 2)
                               for m in members])
        rows = twos[rng.permutation(len(twos))].reshape(-1)
        return rows.reshape(-1, 1), labels[rows].astype(np.float32)

    return _drawn_each_epoch(draw, images, count, (count,), batchSize // 2, False, skip)


def class_balanced_dataset(images, labels, batchSize, seed=None, fixed=False, views=1,
                           skip=0, turns=1):
    """Batches of (images, labels) for a loss that mines its triplets inside the batch: each
    batch holds P classes with K images of each (class_batch_shape), drawn with seed, as many
    batches as cover the images once. Every pass draws anew, unless fixed (for validation:
    the same batches every epoch). With views > 1 each drawn image comes `views` times in a
    row (K / views distinct ones per class: the augmentation makes them differ), and the
    labels are (class, image index) rows, so that a loss can take an image's own views as its
    positives. With turns TURNS every class is also drawn turned by 90, 180 and 270 degrees,
    each turn a class of its own (square images only), labelled class position * TURNS +
    quarter turns: a turned character is another character, so a small set of classes
    teaches as a set four times its size would; an epoch is then four times as long."""
    if turns not in (1, TURNS):
        raise ValueError(f"turns must be 1 or {TURNS}, got {turns!r}")
    labels = np.asarray(labels).reshape(-1)
    (perBatch, perClass) = class_batch_shape(labels, batchSize, turns)
    members = [m for m in _members(labels) for _ in range(turns)]
    steps = steps_per_epoch("classes", len(labels), batchSize, labels, views, turns)
    distinct = max(1, perClass // views)
    count = steps * perBatch * distinct * views
    rng = np.random.default_rng(seed)

    def draw():
        (rows, chosen) = ([], [])
        for _ in range(steps):
            chosen.append(rng.choice(len(members), perBatch, replace=False))
            rows += [rng.choice(members[c], distinct, replace=len(members[c]) < distinct)
                     for c in chosen[-1]]
        rows = np.concatenate(rows)
        classes = labels[rows] if turns == 1 else np.repeat(np.concatenate(chosen), distinct)
        (rows, classes) = (np.repeat(rows, views), np.repeat(classes, views))
        rowLabels = classes if views == 1 else np.stack([classes, rows], axis=1)
        return rows.reshape(-1, 1), rowLabels.astype(np.float32)

    labelShape = (count,) if views == 1 else (count, 2)
    batches = _drawn_each_epoch(draw, images, count, labelShape, count // steps, fixed, skip)
    return batches if turns == 1 else batches.map(_turned_as_labelled)


def _turned_as_labelled(images, batchLabels):
    """Each image turned by as many quarters as its label says (label % TURNS)."""
    import tensorflow as tf

    classes = batchLabels if batchLabels.shape.rank == 1 else batchLabels[:, 0]
    quarters = tf.cast(classes, tf.int32) % TURNS
    turned = tf.stack([tf.image.rot90(images, k) for k in range(TURNS)])
    picked = tf.stack([quarters, tf.range(tf.shape(quarters)[0])], axis=1)
    return tf.gather_nd(turned, picked), batchLabels


def _drawn_each_epoch(draw, images, count, labelShape, batchSize, fixed, skip=0):
    """Batches of (images, labels) of the count images that draw() gives as (rows (count, 1),
    labels of labelShape): drawn afresh on every pass (the first skip passes dropped), or
    once (fixed)."""
    import tensorflow as tf

    # a named function, not a lambda: AutoGraph finds a lambda by its source text, and this
    # module holds look-alikes
    def single_column(columns, batchLabels):
        return columns[0], batchLabels

    ds = each_pass(draw, (tf.int64, tf.float32), slicer((count, 1), labelShape), count, fixed,
                   skip)
    batches = gathered_batches(ds, images, batchSize)
    return batches.map(single_column)


def shared_image_steps(pairIdx, pairsPerStep, rng):
    """Order the pairs pairIdx (rows of two image indices) into steps of pairsPerStep that share
    their images: each step is grown breadth-first through the pairs from one image (an image,
    then every pair of it not yet taken, then its partners' pairs, ...), so that a step's pairs
    mostly meet at images already in it. With the tutorial's pairs (each image in two pairs of
    its own and about two as a partner) 64 pairs hold about 66 images, against 96 for an image
    with its two partners and 128 for pairs on their own. Every pair once, in a random order.

    Returns (order (E,): the pair rows in step order; images (total,): each step's distinct
    images, step after step; imageSplits (steps + 1,): where each step's images start; local
    (E, 2): each ordered pair's two images as positions among its step's images).
    """
    pairIdx = np.asarray(pairIdx).reshape(-1, 2)
    count = len(pairIdx)
    if pairsPerStep < 1:
        raise ValueError(f"pairsPerStep must be a positive integer, got {pairsPerStep!r}")
    shuffled = rng.permutation(count)
    pairs = pairIdx[shuffled]
    ends = pairs.reshape(-1)
    imageCount = int(ends.max()) + 1 if count else 0
    # the pairs of each image, in the shuffled order (so that they are taken in a random one)
    byImage = np.argsort(ends, kind="stable") // 2
    starts = np.searchsorted(np.sort(ends), np.arange(imageCount + 1))
    left = np.bincount(ends, minlength=imageCount)  # pairs not yet taken, per image
    # images to start from when the search runs dry: an image's pairs are never given back,
    # so the next one with pairs left is never behind the last
    (seeds, nextSeed) = (rng.permutation(imageCount), 0)
    taken = np.zeros(count, bool)
    (order, local) = (np.empty(count, np.int64), np.empty((count, 2), np.int64))
    (stepImages, images, splits) = ({}, [], [0])
    queue = collections.deque()
    k = 0
    while k < count:
        if not queue:
            while not left[seeds[nextSeed]]:
                nextSeed += 1
            queue.append(seeds[nextSeed])
        image = queue.popleft()
        for pair in byImage[starts[image]:starts[image + 1]]:
            if taken[pair]:
                continue
            taken[pair] = True
            (a, b) = pairs[pair]
            left[a] -= 1
            left[b] -= 1
            partner = b if a == image else a
            if partner not in stepImages:
                queue.append(partner)
            local[k] = (stepImages.setdefault(a, len(stepImages)),
                        stepImages.setdefault(b, len(stepImages)))
            order[k] = shuffled[pair]
            k += 1
            if k % pairsPerStep == 0 or k == count:
                images.extend(stepImages)
                splits.append(len(images))
                stepImages = {}
                # the next step goes on from here: it starts with one image, not a crowd
                queue = collections.deque([image, partner])
                break
    return order, np.asarray(images, np.int64), np.asarray(splits, np.int64), local


def shared_image_dataset(images, pairIdx, pairLabels, pairsPerStep, seed=None, fixed=False,
                         redraw=None, skip=0):
    """The drawn pairs pairIdx (labels pairLabels) as training steps of ((pairs, images),
    labels): a step's distinct images (n, height, width, channels) in [0, 1], gathered or
    decoded as for pair_dataset, and its pairs as rows of two positions among them (m, 2),
    labelled (m, 1), m = pairsPerStep but for the last step (shared_image_steps). Every pass
    (epoch) orders the pairs anew, unless fixed (validation: the same steps every epoch);
    redraw, when given, is called at every pass for fresh (pairIdx, pairLabels) of the same
    number (--resample-pairs), and is not called on the first, which uses those given. skip
    passes are drawn and dropped first (a resumed run)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    count = len(pairIdx)
    passes = itertools.count()

    def draw():
        first = next(passes) == 0
        (rows, rowLabels) = (pairIdx, pairLabels) if first or redraw is None else redraw()
        (order, stepImages, splits, local) = shared_image_steps(rows, pairsPerStep, rng)
        rowLabels = np.asarray(rowLabels, np.float32).reshape(-1, 1)
        return stepImages, splits, local.astype(np.int32), rowLabels[order]

    steps = -(-count // pairsPerStep)
    pairSplits = np.minimum(np.arange(steps + 1) * pairsPerStep, count)

    def steps_of_epoch(stepImages, splits, local, rowLabels):
        splits = tf.reshape(splits, (steps + 1,))
        return tf.data.Dataset.from_tensor_slices((
            tf.RaggedTensor.from_row_splits(tf.reshape(stepImages, (-1,)), splits),
            tf.RaggedTensor.from_row_splits(tf.reshape(local, (count, 2)), pairSplits),
            tf.RaggedTensor.from_row_splits(tf.reshape(rowLabels, (count, 1)), pairSplits)))

    ds = each_pass(draw, (tf.int64, tf.int64, tf.int32, tf.float32), steps_of_epoch, steps,
                   fixed, skip)
    load = image_loader(images)

    def gather(stepImages, local, stepLabels):
        return (local, load(stepImages)), stepLabels

    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def sample_per_class(labels, count, seed=0):
    """Sorted indices of at most count images, drawn evenly from the classes of labels."""
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    perClass = max(1, count // len(classes))
    chosen = [rng.permutation(np.flatnonzero(labels == label))[:perClass] for label in classes]
    return np.sort(np.concatenate(chosen))
