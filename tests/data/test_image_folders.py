import gzip

import cv2
import numpy as np
import pytest
from conftest import SAME_GREY_COLOURS, write_colour_only_classes, write_digit_classes

from pyimagesearch.data.datasets import DatasetError
from pyimagesearch.data.image_folders import (
    ImageFiles,
    check_image_size,
    check_images,
    is_class_folder_tree,
    load_image_folders,
    scan_classes,
)


def quiet_load(root, *args, **kwargs):
    lines = []
    dataset = load_image_folders(str(root), *args, log=lines.append, **kwargs)
    return dataset, lines


def test_class_names_are_the_sorted_folder_names(tmp_path):
    write_digit_classes(tmp_path, 6, classNames=("zéro", "one two", "a b"))
    (paths, labels, names) = scan_classes(str(tmp_path))
    assert names == ["a b", "one two", "zéro"]
    assert len(paths) == 18 and np.bincount(labels).tolist() == [6, 6, 6]
    for (path, label) in zip(paths, labels):
        assert f"/{names[label]}/" in path


def test_mixed_formats_and_sizes_load_at_the_chosen_size(tmp_path):
    write_digit_classes(tmp_path, 6)
    (dataset, lines) = quiet_load(tmp_path, (20, 24))
    (files, labels) = dataset.train
    assert dataset.test is None and len(files) == 18
    assert {p.rsplit(".", 1)[1] for p in files.paths} == {"png", "jpg", "bmp", "tiff"}
    batch = files.load()
    assert batch.shape == (18, 20, 24, 1) and batch.dtype == np.float32
    assert 0 <= batch.min() and batch.max() <= 1 and batch.max() > 0.5
    assert "found 18 images of 3 classes" in lines[-1] and "20x24 grayscale" in lines[-1]


def test_rgb_files_load_in_rgb_order(tmp_path):
    write_colour_only_classes(tmp_path, 3, size=16)
    (dataset, _) = quiet_load(tmp_path, (16, 16), "rgb")
    (files, labels) = dataset.train
    assert files.input_shape == (16, 16, 3)
    batch = files.load()
    for (image, label) in zip(batch, labels):
        brightest = image.reshape(-1, 3)[image.reshape(-1, 3).sum(1).argmax()]
        expected = SAME_GREY_COLOURS[dataset.class_names[label]]
        np.testing.assert_allclose(brightest * 255, expected, atol=1)


def test_train_and_test_folders_are_both_read_with_the_same_labels(tmp_path):
    write_digit_classes(tmp_path / "train", 6)
    write_digit_classes(tmp_path / "test", 2, seed=1, classNames=("one", "two"))
    (dataset, lines) = quiet_load(tmp_path)
    assert dataset.class_names == ["one", "two", "zero"]
    (testFiles, testLabels) = dataset.test
    assert sorted(set(testLabels)) == [0, 1] and len(testFiles) == 4
    assert all("/test/" in p for p in testFiles.paths)
    # the found line (a line on keeping decoded images may follow it on a loaded machine)
    assert any("(train/ 18, test/ 4)" in line for line in lines)


def test_a_test_class_the_training_lacks_is_refused(tmp_path):
    write_digit_classes(tmp_path / "train", 2, classNames=("a", "b"))
    write_digit_classes(tmp_path / "test", 2, classNames=("a", "c"))
    with pytest.raises(DatasetError, match="'c'"):
        quiet_load(tmp_path)


def test_unreadable_files_are_skipped_with_one_warning_naming_them(tmp_path):
    write_digit_classes(tmp_path, 4)
    (tmp_path / "one" / "broken.png").write_bytes(b"not an image")
    (tmp_path / "two" / "empty.jpg").write_bytes(b"")
    (dataset, lines) = quiet_load(tmp_path)
    warnings = [line for line in lines if line.startswith("[WARNING]")]
    assert len(warnings) == 1 and "2 unreadable" in warnings[0]
    assert "broken.png" in warnings[0] and "empty.jpg" in warnings[0]
    assert len(dataset.train[0]) == 12
    assert not any("broken" in p or "empty" in p for p in dataset.train[0].paths)


@pytest.mark.parametrize("make, message", [
    (lambda root: write_digit_classes(root, 3, classNames=("only",)), "1 class folder"),
    (lambda root: (write_digit_classes(root, 3, classNames=("a", "b")),
                   (root / "c").mkdir()), "with no images: 'c'"),
    (lambda root: (write_digit_classes(root, 3, classNames=("a",)), (root / "b").mkdir(),
                   (root / "b" / "x.png").write_bytes(b"junk")), "'b' has no readable image"),
    (lambda root: None, "0 class folder"),
    (lambda root: write_digit_classes(root / "train", 3), r"read as splits only together"),
])
def test_unusable_folders_are_refused(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(DatasetError, match=message):
        quiet_load(tmp_path)


def test_a_folder_with_idx_files_stays_idx(tmp_path):
    assert is_class_folder_tree(str(tmp_path))
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"")
    assert not is_class_folder_tree(str(tmp_path))
    assert not is_class_folder_tree(str(tmp_path / "missing"))


def test_image_sizes_outside_the_limits_are_refused():
    check_image_size((8, 1024))
    for size in ((7, 28), (28, 1025), (28,), (0, 0)):
        with pytest.raises(ValueError, match="from 8 to 1024"):
            check_image_size(size)


def test_image_files_index_like_arrays(tmp_path):
    write_digit_classes(tmp_path, 2)
    (paths, _, _) = scan_classes(str(tmp_path))
    files = ImageFiles(paths, (28, 28))
    part = files[np.array([4, 0])]
    assert len(part) == 2 and list(part.paths) == [paths[4], paths[0]]
    np.testing.assert_array_equal(part.load(), files.load([4, 0]))
    with pytest.raises(ValueError, match="colour mode"):
        ImageFiles(paths, (28, 28), "cmyk")


def test_check_images_decodes_every_file_and_keeps_them_when_asked(tmp_path):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.full((10, 10), 255, np.uint8))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:40])
    paths = [str(good), str(truncated)]
    for cache in ("auto", "never"):
        (bad, pixels, seconds) = check_images(paths, (28, 28), "grayscale", cache)
        # 28x28 PNGs decode in well under config.CACHE_DECODE_MS: auto keeps nothing
        assert [path for (path, _) in bad] == [str(truncated)] and pixels is None
        assert 0 < seconds < 0.1
    (bad, pixels, _) = check_images(paths, (12, 14), "rgb", "always", chunk=1)
    assert len(bad) == 1 and pixels.shape == (2, 12, 14, 3) and pixels.dtype == np.uint8
    assert (pixels[0] == 255).all() and (pixels[1] == 0).all()


def test_slow_decoding_keeps_the_decoded_images(tmp_path, monkeypatch):
    from pyimagesearch import config
    from pyimagesearch.data.pairs import pair_dataset

    write_digit_classes(tmp_path / "data", 4)
    (streamed, _) = quiet_load(tmp_path / "data", cache="never")
    monkeypatch.setattr(config, "CACHE_DECODE_MS", 0.0)  # every decode counts as slow
    (cached, lines) = quiet_load(tmp_path / "data")
    assert streamed.train[0].pixels is None and cached.train[0].pixels is not None
    assert "keeping the decoded images in memory" in lines[-1]
    np.testing.assert_allclose(cached.train[0].load(), streamed.train[0].load(), atol=0.5 / 255)
    # training gathers the kept pixels: the same batches, nothing decoded
    expected = streamed.train[0].load([0, 3])
    monkeypatch.setattr(ImageFiles, "load_paths", None)
    rows = np.array([[0, 1, 2], [3, 4, 5]])
    labels = np.tile(np.array([[1, 0]], np.float32), (2, 1))
    ((a, b, c), _) = next(iter(pair_dataset(cached.train[0], rows, labels, batchSize=2)))
    np.testing.assert_allclose(a.numpy(), expected, atol=0.5 / 255)
    monkeypatch.setattr(config, "CACHE_MB", 0)  # and they must fit
    assert quiet_load(tmp_path / "data")[0].train[0].pixels is None


def test_test_images_alone_leave_the_training_images_unread(tmp_path):
    from pyimagesearch.data.image_folders import load_test_dataset

    write_digit_classes(tmp_path / "train", 3)
    write_digit_classes(tmp_path / "test", 2, seed=1)
    (tmp_path / "train" / "one" / "broken.png").write_bytes(b"junk")
    lines = []
    (files, labels) = load_test_dataset(str(tmp_path), (28, 28, 1), log=lines.append)
    assert len(files) == 6 and files.pixels is not None and sorted(set(labels)) == [0, 1, 2]
    assert not any("broken" in line for line in lines)
    assert any("(test/ 6)" in line for line in lines)
