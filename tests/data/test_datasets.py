import gzip
import struct
import urllib.error

import numpy as np
import pytest

from pyimagesearch.data.datasets import (
    DatasetError,
    load_dataset,
    read_idx,
)


def arrays(n_train=30, n_test=20, shape=(28, 28)):
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
            "y_train": np.arange(n_train) % 3,
            "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
            "y_test": np.arange(n_test) % 3}


def write_idx(path, array, gz):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def test_npz_in_keras_layout(tmp_path):
    data = arrays()
    np.savez(tmp_path / "m.npz", **data)
    ((trainX, trainY), (testX, testY)) = load_dataset(str(tmp_path / "m.npz"))
    assert trainX.shape == (30, 28, 28) and trainX.dtype == np.uint8
    assert (trainX == data["x_train"]).all() and (testY == data["y_test"]).all()


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder(tmp_path, gz):
    data = arrays()
    for key, name in (("x_train", "train-images-idx3-ubyte"),
                      ("y_train", "train-labels-idx1-ubyte"),
                      ("x_test", "t10k-images-idx3-ubyte"), ("y_test", "t10k-labels-idx1-ubyte")):
        write_idx(tmp_path / name, data[key], gz)
    ((trainX, trainY), (testX, testY)) = load_dataset(str(tmp_path))
    assert (trainX == data["x_train"]).all() and (trainY == data["y_train"]).all()
    assert (testX == data["x_test"]).all() and (testY == data["y_test"]).all()


def test_truncated_idx_file(tmp_path):
    write_idx(tmp_path / "x", np.zeros((3, 4, 4)), gz=False)
    (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes()[:-5])
    with pytest.raises(DatasetError, match="declares"):
        read_idx(str(tmp_path / "x"))
    (tmp_path / "y").write_bytes(b"not an idx file")
    with pytest.raises(DatasetError, match="not an unsigned-byte IDX"):
        read_idx(str(tmp_path / "y"))


def test_folder_without_idx_files(tmp_path):
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
        load_dataset(str(tmp_path))


def test_float_images_in_unit_range_become_uint8(tmp_path):
    data = arrays()
    data["x_train"] = data["x_train"].astype(np.float32) / 255.0
    np.savez(tmp_path / "m.npz", **data)
    ((trainX, _), _) = load_dataset(str(tmp_path / "m.npz"))
    assert trainX.dtype == np.uint8
    assert np.abs(trainX.astype(int) - arrays()["x_train"]).max() <= 1


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(y_train=d["y_train"][:-1]), "one label per image"),
    (lambda d: d.update(y_test=np.zeros(20, int)), "single class"),
    (lambda d: d.update(x_train=d["x_train"].reshape(30, -1)), "shaped"),
    (lambda d: d.update(x_test=arrays(shape=(20, 20))["x_test"]), "test images"),
    (lambda d: d.update(y_train=d["y_train"] + 0.5), "integer class labels"),
    (lambda d: d.update(x_train=d["x_train"] * 300.0), "pixel values"),
    (lambda d: d.pop("y_test"), "lacks y_test"),
])
def test_bad_data_gets_a_clear_error(tmp_path, change, message):
    data = arrays()
    change(data)
    np.savez(tmp_path / "m.npz", **data)
    with pytest.raises(DatasetError, match=message):
        load_dataset(str(tmp_path / "m.npz"))


def test_corrupt_or_missing_file(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        load_dataset(str(tmp_path / "bad.npz"))
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(str(tmp_path / "nowhere.npz"))


def test_offline_download_says_how_to_pass_a_dataset(monkeypatch):
    import keras.datasets.mnist

    def offline():
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DatasetError, match="could not download MNIST .*--dataset"):
        load_dataset("mnist")


def test_split_validation_holds_out_a_share_of_every_class():
    from pyimagesearch.data.datasets import split_validation
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    (train, held) = split_validation(labels, 0.1, rng=7)
    assert len(held) == 10 and sorted(np.concatenate([train, held])) == list(range(100))
    assert np.bincount(labels[held]).tolist() == [1, 2, 3, 4]
    again = split_validation(labels, 0.1, rng=7)
    np.testing.assert_array_equal(again[1], held)
    assert not np.array_equal(split_validation(labels, 0.1, rng=8)[1], held)
    for fraction in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError):
            split_validation(labels, fraction)
    with pytest.raises(DatasetError, match="class 1"):
        split_validation(np.array([0, 0, 0, 0, 1]), 0.5)
