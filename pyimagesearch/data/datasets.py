"""Loading MNIST-style datasets (Keras's downloader, a .npz, or IDX files) as arrays, and
holding out a validation split."""
import gzip
import os
import zipfile

import numpy as np

# the four files of the original MNIST distribution, as (key, IDX file name)
IDX_FILES = (("x_train", "train-images-idx3-ubyte"), ("y_train", "train-labels-idx1-ubyte"),
             ("x_test", "t10k-images-idx3-ubyte"), ("y_test", "t10k-labels-idx1-ubyte"))
HOW_TO_PASS = ("pass --dataset PATH with a Keras-layout mnist.npz (x_train, y_train, x_test, "
               "y_test) or a folder holding the four MNIST IDX files")


class DatasetError(ValueError):
    """A dataset that cannot be loaded or is not usable for training; the message says why."""


def load_dataset(dataset="mnist"):
    """Load ((trainX, trainY), (testX, testY)) as uint8 images (N, H, W) and integer labels.

    dataset is "mnist" (Keras's downloader and its cache), a path to a .npz in Keras's layout,
    or a folder with the four MNIST IDX files (gzipped or not). Raises DatasetError with a
    one-line reason when the data cannot be read or is not usable.
    """
    if dataset == "mnist" and not os.path.exists(dataset):
        arrays = _download_mnist()
    elif os.path.isdir(dataset):
        arrays = _load_idx_folder(dataset)
    elif os.path.isfile(dataset):
        arrays = _load_npz(dataset)
    else:
        raise DatasetError(f"dataset {dataset!r} does not exist; {HOW_TO_PASS}")
    return validate_dataset(arrays, dataset)


def _download_mnist():
    from keras.datasets import mnist
    try:
        (trainX, trainY), (testX, testY) = mnist.load_data()
    except Exception as e:  # the downloader raises many types (URLError, OSError, Exception)
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DatasetError(f"could not download MNIST ({reason}); {HOW_TO_PASS}") from None
    return {"x_train": trainX, "y_train": trainY, "x_test": testX, "y_test": testY}


def _load_npz(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key, _ in IDX_FILES if key not in data.files]
            if missing:
                raise DatasetError(f"{path} lacks {', '.join(missing)}; expected the arrays "
                                   f"x_train, y_train, x_test, y_test")
            return {key: data[key] for key, _ in IDX_FILES}
    except DatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"{path} is not a readable .npz file ({e})") from None


def idx_file_names(name):
    """The file names one MNIST IDX file may go by: as distributed, gzipped, with a dot."""
    dotted = name.replace("-idx", ".idx")
    return (name, name + ".gz", dotted, dotted + ".gz")


def _find_idx_file(folder, name):
    for candidate in idx_file_names(name):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    raise DatasetError(f"{folder} has no {name} (or {name}.gz); {HOW_TO_PASS}")


def read_idx(path):
    """Read one IDX file (gzipped or not) into a numpy array of its declared shape."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DatasetError(f"{path} is not readable ({e})") from None
    # header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions,
    # then one big-endian uint32 per dimension
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] == 0:
        raise DatasetError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path} is truncated (incomplete header)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DatasetError(f"{path} holds {len(raw) - header} bytes of data but its header "
                           f"declares {shape} ({expected} bytes)")
    return np.frombuffer(raw, np.uint8, expected, header).reshape(shape)


def _load_idx_folder(folder):
    return {key: read_idx(_find_idx_file(folder, name)) for key, name in IDX_FILES}


def validate_dataset(arrays, source="dataset"):
    """Check shapes, label counts and classes; return ((trainX, trainY), (testX, testY)).

    Images come back as uint8 (N, H, W) arrays: float images in [0, 1] are scaled to 0-255,
    a trailing channel axis of 1 is dropped.
    """
    splits = []
    for split in ("train", "test"):
        images = np.asarray(arrays[f"x_{split}"])
        labels = np.asarray(arrays[f"y_{split}"])
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3 or min(images.shape) < 1:
            raise DatasetError(f"{source}: x_{split} must be grayscale images shaped "
                               f"(N, height, width), got {images.shape}")
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1 or len(labels) != len(images):
            raise DatasetError(f"{source}: y_{split} must hold one label per image "
                               f"({len(images)}), got shape {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise DatasetError(f"{source}: y_{split} must hold integer class labels, "
                               f"got {labels.dtype}")
        if len(np.unique(labels)) < 2:
            raise DatasetError(f"{source}: y_{split} has a single class; pairs need at least "
                               f"two classes")
        splits.append((_to_uint8(images, f"{source}: x_{split}"), labels.astype(np.int64)))
    if splits[0][0].shape[1:] != splits[1][0].shape[1:]:
        raise DatasetError(f"{source}: train images are {splits[0][0].shape[1:]} but test "
                           f"images are {splits[1][0].shape[1:]}")
    return tuple(splits)


def check_image_format(images, source, imageSize=None, colorMode="grayscale"):
    """Raise DatasetError when --image-size or --color-mode asks MNIST-style images (uint8
    (N, height, width), grayscale) for what they are not: only class folders are converted."""
    (height, width) = np.shape(images)[1:3]
    if colorMode != "grayscale":
        raise DatasetError(f"{source} holds grayscale images; --color-mode {colorMode} reads "
                           f"class folders only")
    if imageSize is not None and tuple(imageSize) != (height, width):
        raise DatasetError(f"--image-size {imageSize[0]} {imageSize[1]} does not match the "
                           f"{height}x{width} images of {source}; it resizes class-folder "
                           f"images only")


def _to_uint8(images, what):
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.number):
        raise DatasetError(f"{what} must be numeric, got {images.dtype}")
    low, high = float(images.min()), float(images.max())
    if not np.isfinite([low, high]).all() or low < 0:
        raise DatasetError(f"{what} must hold pixel values in [0, 255] or [0, 1]")
    scale = 255.0 if high <= 1.0 and np.issubdtype(images.dtype, np.floating) else 1.0
    if high * scale > 255:
        raise DatasetError(f"{what} must hold pixel values in [0, 255] or [0, 1], "
                           f"found {high:g}")
    return np.round(images * scale).astype(np.uint8)


def split_validation(labels, fraction, rng=None, classNames=None):
    """Hold out fraction of every class's images: (training indices, validation indices).

    The draw is stratified (each class keeps its share, at least one image on each side) and
    comes from rng (a numpy Generator or a seed); both index arrays are sorted. A class too
    small to split raises DatasetError naming it (by classNames[label] when given).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"the validation split must lie strictly between 0 and 1, got "
                         f"{fraction!r}")
    labels = np.asarray(labels).reshape(-1)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    held = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = int(round(fraction * len(members)))
        if len(members) < 2 or not 0 < count < len(members):
            name = repr(classNames[label]) if classNames is not None else label
            raise DatasetError(f"class {name} has {len(members)} training image(s): too few "
                               f"to hold out {fraction:g} of them for validation")
        held.append(rng.choice(members, count, replace=False))
    validation = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(labels)), validation), validation


def keep_classes(split, wanted, classNames=None, what="training images"):
    """The (images, labels) of split whose class is one of wanted: digit labels as text for
    MNIST-style data, class-folder names for class folders (classNames[label]). The labels
    keep their numbers. DatasetError for a class the data lacks or fewer than two kept."""
    (images, labels) = split
    names = (np.asarray(classNames)[labels] if classNames is not None
             else np.asarray(labels).astype(str))
    known = set(classNames) if classNames is not None else set(names.tolist())
    missing = [name for name in wanted if name not in known]
    if missing:
        raise DatasetError(f"--classes: no class {', '.join(map(repr, missing))} among the "
                           f"{what}")
    keep = np.flatnonzero(np.isin(names, list(wanted)))
    if len(np.unique(labels[keep])) < 2:
        raise DatasetError(f"--classes must name at least two classes of the {what}")
    return images[keep], labels[keep]
