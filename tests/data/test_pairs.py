import numpy as np

from pyimagesearch.data.pairs import pair_dataset, resampled_pair_dataset


def test_pair_dataset_gathers_and_scales_batches():
    images = np.array([np.full((2, 2), v, np.uint8) for v in (0, 51, 255)])
    pairIdx = np.array([[0, 1], [2, 0], [1, 2]])
    labels = np.array([[1], [0], [1]], np.float32)
    batches = list(pair_dataset(images, pairIdx, labels, batchSize=2))
    ((a, b), y) = batches[0]
    assert a.shape == (2, 2, 2, 1) and a.dtype.name == "float32"
    np.testing.assert_allclose(a.numpy()[:, 0, 0, 0], [0.0, 1.0])
    np.testing.assert_allclose(b.numpy()[:, 0, 0, 0], [0.2, 0.0])
    np.testing.assert_array_equal(y.numpy(), [[1], [0]])
    assert len(batches) == 2


def test_pair_dataset_shuffles_every_epoch_but_keeps_the_pairs():
    images = np.arange(64, dtype=np.uint8).reshape(64, 1, 1)
    pairIdx = np.stack([np.arange(64), np.arange(64)[::-1]], axis=1)
    labels = np.arange(64, dtype=np.float32)[:, None]
    ds = pair_dataset(images, pairIdx, labels, batchSize=64, shuffle=True, seed=0)
    epochs = [next(iter(ds)) for _ in range(2)]
    orders = [y.numpy().ravel() for (_, y) in epochs]
    assert sorted(orders[0]) == list(range(64)) and (orders[0] != orders[1]).any()
    ((a, b), y) = epochs[0]
    idx = y.numpy().ravel().astype(int)
    np.testing.assert_allclose(a.numpy().ravel() * 255, idx, atol=1e-3)
    np.testing.assert_allclose(b.numpy().ravel() * 255, 63 - idx, atol=1e-3)


def epoch_rows(ds):
    """(anchor, positive, negative) image numbers of one pass, read back from the pixels."""
    parts = [(np.stack([x.numpy().reshape(len(y)) for x in images], axis=1), y.numpy())
             for (images, y) in ds]
    rows = np.concatenate([p[0] for p in parts]) * 255
    return np.round(rows).astype(int), np.concatenate([p[1] for p in parts])


def test_resampled_pairs_are_fresh_every_epoch_and_keep_the_tutorials_rules():
    labels = np.arange(60) % 4
    images = np.arange(60, dtype=np.uint8).reshape(60, 1, 1)
    ds = resampled_pair_dataset(images, labels, batchSize=16, seed=3)
    assert int(ds.cardinality()) == 4  # Keras knows the steps per epoch
    epochs = [epoch_rows(ds) for _ in range(2)]
    for (rows, y) in epochs:
        # every image anchors exactly once, with a same-class and an other-class partner
        assert sorted(rows[:, 0]) == list(range(60))
        assert (labels[rows[:, 1]] == labels[rows[:, 0]]).all()
        assert (labels[rows[:, 2]] != labels[rows[:, 0]]).all()
        np.testing.assert_array_equal(y, np.tile([[1, 0]], (60, 1)))
    first = {tuple(r) for r in epochs[0][0]}
    assert first != {tuple(r) for r in epochs[1][0]}  # new partners, not just a new order
    # the same seed draws the same pairs
    again = epoch_rows(resampled_pair_dataset(images, labels, batchSize=16, seed=3))[0]
    assert {tuple(r) for r in again} == first


def test_pairs_decoded_from_files_equal_pairs_gathered_from_memory(tmp_path):
    import cv2

    from pyimagesearch.data.image_folders import ImageFiles
    from pyimagesearch.data.pairs import input_shape_of, load_images

    images = np.random.default_rng(0).integers(0, 256, (7, 12, 10), dtype=np.uint8)
    paths = []
    for (i, image) in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(paths[-1], image)
    files = ImageFiles(paths, (12, 10))
    assert input_shape_of(files) == input_shape_of(images) == (12, 10, 1)
    np.testing.assert_allclose(load_images(files, [3, 1]), load_images(images, [3, 1]))
    rows = np.array([[0, 1, 2], [3, 4, 5], [6, 0, 1]])
    labels = np.tile(np.array([[1, 0]], np.float32), (3, 1))
    fromFiles = list(pair_dataset(files, rows, labels, batchSize=2))
    fromMemory = list(pair_dataset(images, rows, labels, batchSize=2))
    assert len(fromFiles) == len(fromMemory) == 2
    for ((a, y), (b, z)) in zip(fromFiles, fromMemory):
        assert a[0].shape[1:] == (12, 10, 1)
        for (column, twin) in zip(a, b):
            np.testing.assert_allclose(column.numpy(), twin.numpy())
        np.testing.assert_array_equal(y.numpy(), z.numpy())
