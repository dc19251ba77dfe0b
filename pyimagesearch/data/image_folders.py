"""Training on your own images: one subfolder of images per class, found and checked up front.

The layout is that of keras.utils.image_dataset_from_directory and torchvision's ImageFolder:

    DIR/cat/0001.jpg  DIR/cat/0002.png  DIR/dog/a.jpg ...      (a split is held out of it)
    DIR/train/cat/... DIR/train/dog/... DIR/test/cat/... DIR/test/dog/...

A subfolder's name is its class's name. Training holds the files' paths and labels
(ImageFiles), never the images: pyimagesearch.data.pairs decodes each batch on the fly.
"""
import os
import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pyimagesearch.data.datasets import IDX_FILES, DatasetError, idx_file_names
from pyimagesearch.data.images import (
    COLOR_MODES,
    IMAGE_EXTENSIONS,
    color_mode_of,
    list_image_paths,
    load_image,
)

# sides outside these make no sense for the networks here: under 8 pixels the small VGG's
# three poolings leave nothing, over 1024 one batch's activations outgrow a laptop's memory
MIN_IMAGE_SIDE = 8
MAX_IMAGE_SIDE = 1024
# the unreadable files a warning names before it only counts the rest
NAMED_SKIPS = 10


class ReadFailures:
    """Reads of checked files that failed while a training ran (a file that vanished or
    changed since): while `tolerated`, such a file gives a blank image and its error is kept
    here, for the training to stop on in one clean line; an error raised inside tf.data's
    workers would instead be logged by TensorFlow with its traceback, and could leave the
    process waiting on them as it exits."""
    tolerated = False
    errors = []



FolderDataset = namedtuple("FolderDataset", "train test class_names")
FolderDataset.__doc__ = """A class-folder dataset: train and test are (ImageFiles, labels),
test is None without a test/ folder (train is None when only test/ was asked for);
class_names[label] is the name of a label's class."""


class ImageFiles:
    """Image files decoded on demand at one size (height, width) and colour mode.

    Indexing with an array of indices gives the ImageFiles of those files; load gives their
    pixels as float32 (n, height, width, channels) in [0, 1]. With pixels (uint8, one image
    per path, decoded once already: see check_images) nothing is decoded again. With faces,
    each image is its photo's largest face, aligned (--images faces).
    """

    def __init__(self, paths, size, colorMode="grayscale", pixels=None, invert=False,
                 faces=False):
        check_image_size(size)
        if colorMode not in COLOR_MODES:
            raise ValueError(f"colour mode must be one of {', '.join(COLOR_MODES)}, got "
                             f"{colorMode!r}")
        self.paths = np.asarray(paths, dtype=str).reshape(-1)
        self.size = tuple(int(side) for side in size)
        self.color_mode = colorMode
        if pixels is not None and np.shape(pixels) != (len(self.paths), *self.input_shape):
            raise ValueError(f"pixels must be shaped {(len(self.paths), *self.input_shape)}, "
                             f"got {np.shape(pixels)}")
        self.pixels = pixels
        # dark ink on light paper, read as bright strokes on a dark background
        self.invert = bool(invert)
        self.faces = bool(faces)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        return ImageFiles(self.paths[index], self.size, self.color_mode,
                          None if self.pixels is None else self.pixels[index], self.invert,
                          self.faces)

    def inverted(self):
        """The same files read inverted (1 - pixel): dark strokes on light paper become the
        bright strokes on a dark background that handwriting is read as."""
        return ImageFiles(self.paths, self.size, self.color_mode,
                          None if self.pixels is None else 255 - self.pixels, not self.invert,
                          self.faces)

    @property
    def input_shape(self):
        """(height, width, channels) of a loaded image: 3 channels for rgb, 1 for grayscale."""
        return (*self.size, 3 if self.color_mode == "rgb" else 1)

    def load(self, indices=None):
        """The pixels of the files at indices (all of them by default), float32 in [0, 1]."""
        if self.pixels is not None:
            pixels = self.pixels if indices is None else self.pixels[np.asarray(indices)]
            return pixels.astype(np.float32) / 255.0
        paths = self.paths if indices is None else self.paths[np.asarray(indices)]
        return self.load_paths(paths)

    def load_paths(self, paths):
        """Decode paths (str, or the file system's bytes as tf.data hands them over) into one
        batch."""
        batch = np.empty((len(paths), *self.input_shape), np.float32)
        for (i, path) in enumerate(paths):
            path = os.fsdecode(path) if isinstance(path, bytes) else str(path)
            try:
                image = load_image(path, self.size, colorMode=self.color_mode,
                                   faces=self.faces)[0]
            except ValueError as e:
                if not ReadFailures.tolerated:
                    raise
                ReadFailures.errors.append(str(e))
                image = np.zeros(self.input_shape, np.float32)
            batch[i] = image.reshape(self.input_shape)
        return 1.0 - batch if self.invert else batch


def check_image_size(size, what="the image size"):
    """Raise ValueError unless size is (height, width) with sides MIN to MAX_IMAGE_SIDE."""
    if len(size) != 2 or not all(MIN_IMAGE_SIDE <= int(side) <= MAX_IMAGE_SIDE
                                 for side in size):
        raise ValueError(f"{what} must be HEIGHT WIDTH, each from {MIN_IMAGE_SIDE} to "
                         f"{MAX_IMAGE_SIDE} pixels (larger images make each training step's "
                         f"activations outgrow memory), got {' '.join(map(str, size))}")


def is_class_folder_tree(path):
    """Whether path (or each of a list of paths) is a folder to read as class folders: a
    folder without MNIST IDX files."""
    if not isinstance(path, str):
        return bool(path) and all(is_class_folder_tree(one) for one in path)
    if not os.path.isdir(path):
        return False
    names = {name.lower() for name in os.listdir(path)}
    return not any(candidate in names for (_, name) in IDX_FILES
                   for candidate in idx_file_names(name))


def has_test_folder(root):
    """Whether root (or each of a list of roots) holds train/ and test/ trees rather than the
    class folders themselves."""
    roots = [root] if isinstance(root, str) else root
    return all(os.path.isdir(os.path.join(one, name)) for one in roots
               for name in ("train", "test"))


def class_folders(root):
    """[(class name, folder)] of the classes under root, sorted by name (hidden folders left
    out). A folder that holds image files itself is a class (with the images of its
    subfolders); a folder that holds only folders groups the classes below it, which are named
    by their path from root: Omniglot's Greek/character01."""
    found = []
    for entry in sorted(os.scandir(root), key=lambda entry: entry.name):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if _holds_images(entry.path) or not _subfolders(entry.path):
            found.append((entry.name, entry.path))
        else:
            found += [(f"{entry.name}/{name}", folder)
                      for (name, folder) in class_folders(entry.path)]
    return sorted(found)


def _holds_images(folder):
    return any(entry.is_file() and entry.name.lower().endswith(IMAGE_EXTENSIONS)
               for entry in os.scandir(folder))


def _subfolders(folder):
    return [entry for entry in os.scandir(folder)
            if entry.is_dir() and not entry.name.startswith(".")]


def scan_classes(root, classNames=None, log=print):
    """(paths, labels, class names) of the images in the class folders under root (a folder,
    or a list of folders whose classes are merged by name: a file met again at the same place
    in a class of the same name is counted once).

    Labels number the sorted class names from 0; with classNames (those of the training
    folder) a class folder must be one of them and keeps its label. Raises DatasetError for
    fewer than two classes or a class folder without images.
    """
    roots = [root] if isinstance(root, str) else list(root)
    (members, duplicates) = ({}, 0)
    for one in roots:
        for (name, folder) in class_folders(one):
            files = members.setdefault(name, {})
            for path in list_image_paths(folder, "class folder"):
                relative = os.path.relpath(path, folder)
                duplicates += relative in files
                files.setdefault(relative, path)
    where = " and ".join(roots)
    # a lone train/ (or test/) of class folders is a split whose other half is missing
    splits = sorted({name.split("/")[0] for name in members if "/" in name}
                    & {"train", "test"})
    if splits:
        raise DatasetError(f"{where} has a {splits[0]}/ folder but not both train/ and test/ "
                           f"(they are read as splits only together): put each class's images "
                           f"in a subfolder named after the class, or add the other split")
    if duplicates:
        log(f"[INFO] {duplicates:,} file(s) found in more than one of {where} counted once")
    if classNames is None:
        if len(members) < 2:
            raise DatasetError(f"{where} has {len(members)} class folder(s): put each class's "
                               f"images in a subfolder named after the class, at least two "
                               f"classes")
        classNames = sorted(members)
    else:
        unknown = [name for name in sorted(members) if name not in classNames]
        if unknown:
            raise DatasetError(f"{where} has class folder(s) the training images lack: "
                               f"{', '.join(map(repr, unknown))}")
    empty = [name for name in sorted(members) if not members[name]]
    if empty:
        raise DatasetError(f"{where}: class folder(s) with no images: "
                           f"{', '.join(map(repr, empty))}")
    index = {name: label for (label, name) in enumerate(classNames)}
    (paths, labels) = ([], [])
    for name in sorted(members):
        found = sorted(members[name].values())
        paths += found
        labels += [index[name]] * len(found)
    return np.asarray(paths, dtype=str), np.asarray(labels, np.int64), list(classNames)


def resolve_dataset(sources, log=print):
    """What --dataset names, ready to read: one path as it is (MNIST-style data or a folder of
    class folders), zips of class folders unpacked (pyimagesearch.data.archives), several sources
    as the list of their folders, whose classes are merged by name."""
    from pyimagesearch.data.archives import is_zip, unpacked_zip

    sources = [sources] if isinstance(sources, str) else list(sources)
    if len(sources) == 1 and not is_zip(sources[0]):
        return sources[0]
    roots = []
    for source in sources:
        if is_zip(source):
            roots.append(unpacked_zip(source, log=log))
        elif is_class_folder_tree(source):
            roots.append(source)
        else:
            raise DatasetError(f"{source} is neither a folder of class folders nor a zip of "
                               f"them; several --dataset sources must each be one")
    return roots[0] if len(roots) == 1 else roots


def dataset_name(dataset):
    """A dataset as a message names it: its path, or its folders joined by " and "."""
    return dataset if isinstance(dataset, str) else " and ".join(dataset)


def check_images(paths, size, colorMode, cache="auto", workers=None, chunk=256, faces=False):
    """Decode every file once, as training will: ([(path, reason)] of those that do not
    decode, their pixels as uint8 (n, height, width, channels) or None, seconds per image).

    Files are decoded in a pool of threads (OpenCV releases Python's lock while it decodes),
    so no bad file is met in the middle of an epoch. The decoded pixels are kept (the
    unreadable files' left black) with cache "always", or with "auto" when decoding is slow
    (config.CACHE_DECODE_MS per image, measured on the first chunk) and they fit in
    config.CACHE_MB; "never" keeps nothing, and training decodes every batch again. Each
    task takes a chunk of paths: one task per file costs memory that grows with their number
    (measured: 115 MB more at its peak for 60,000 files, none with chunks). With faces, a
    photo without a face is one that does not decode.
    """
    from pyimagesearch.config import CACHE_DECODE_MS, CACHE_MB

    shape = (*size, 3 if colorMode == "rgb" else 1)
    keep = {"decided": cache != "auto", "pixels": cache == "always"}

    def decode(paths):
        (found, pixels, start) = ([], [], time.perf_counter())
        for path in paths:
            try:
                image = load_image(path, size, colorMode=colorMode,
                                   faces=faces)[0].reshape(shape)
            except ValueError as e:
                found.append((path, str(e).replace(path, "").strip() or "not readable"))
                image = np.zeros(shape, np.float32)
            if keep["pixels"] or not keep["decided"]:
                pixels.append(np.round(image * 255).astype(np.uint8))
        return found, pixels, time.perf_counter() - start

    chunks = [paths[start:start + chunk] for start in range(0, len(paths), chunk)]
    (bad, cached, seconds) = ([], None, 0.0)
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        for (i, (found, pixels, spent)) in enumerate(pool.map(decode, chunks)):
            bad += found
            seconds += spent
            if not keep["decided"]:
                perImage = spent / max(1, len(chunks[0]))
                fits = len(paths) * int(np.prod(shape)) <= CACHE_MB * 2 ** 20
                keep.update(decided=True, pixels=fits and perImage * 1000 >= CACHE_DECODE_MS)
            if keep["pixels"]:
                if cached is None:
                    cached = np.empty((len(paths), *shape), np.uint8)
                start = i * chunk
                cached[start:start + len(pixels)] = pixels
    return bad, cached, seconds / max(1, len(paths))


def load_image_folders(root, size=(28, 28), colorMode="grayscale", log=print, cache="auto",
                       testOnly=False, faces=False):
    """A FolderDataset of the class folders under root (with train/ and test/, or without).

    Unreadable files are left out with one warning naming them; log receives the lines that
    say what was found. cache says when the decoded images are kept in memory (check_images).
    With testOnly, train/ only names the classes: its images are neither listed nor decoded,
    and train is None. With faces, each image is its photo's largest face, aligned, and a
    photo without one is left out as unreadable files are. Raises DatasetError when nothing
    usable is left, a class ends up with no readable image, or the folders are not laid out
    as classes.
    """
    check_image_size(size)
    roots = [root] if isinstance(root, str) else list(root)
    splits = [(split, [os.path.join(one, split) for one in roots]) for split in ("train", "test")]
    if not has_test_folder(roots):
        splits = [("", roots)]
    start = time.perf_counter()
    (loaded, classNames, skipped, perImage) = ([], None, [], [])
    for (split, folder) in splits:
        if testOnly and split == "train":
            classNames = sorted({name for one in folder for (name, _) in class_folders(one)})
            loaded.append((None, None))
            continue
        (paths, labels, classNames) = scan_classes(folder, classNames, log)
        (bad, pixels, seconds) = check_images(paths, size, colorMode, cache, faces=faces)
        skipped += bad
        perImage.append(seconds)
        unreadable = {path for (path, _) in bad}
        keep = np.array([path not in unreadable for path in paths], bool)
        for label in np.unique(labels):
            if not keep[labels == label].any():
                raise DatasetError(f"{' and '.join(folder)}: class {classNames[label]!r} "
                                   f"has no readable image")
        loaded.append((ImageFiles(paths[keep], size, colorMode,
                                  None if pixels is None else pixels[keep], faces=faces),
                       labels[keep]))
    if skipped:
        named = "; ".join(f"{path} ({why})" for (path, why) in skipped[:NAMED_SKIPS])
        more = len(skipped) - NAMED_SKIPS
        what = "unreadable or faceless" if faces else "unreadable"
        log(f"[WARNING] skipping {len(skipped)} {what} file(s): {named}"
            + (f"; and {more} more" if more > 0 else ""))
    counts = ", ".join(f"{split}/ {len(files):,}" for ((split, _), (files, _))
                       in zip(splits, loaded) if files is not None) if len(splits) > 1 else None
    log(f"[INFO] found {sum(len(files) for (files, _) in loaded if files is not None):,} images of "
        f"{len(classNames)} classes in {' and '.join(roots)}" + (f" ({counts})" if counts else "")
        + f", checked in {time.perf_counter() - start:.1f} s; read at "
        f"{size[0]}x{size[1]} {colorMode}")
    cachedBytes = sum(files.pixels.nbytes for (files, _) in loaded
                      if files is not None and files.pixels is not None)
    if cachedBytes and not testOnly:  # for training, where the choice matters
        log(f"[INFO] decoding takes {1000 * max(perImage):.1f} ms per image: keeping the decoded "
            f"images in memory ({cachedBytes / 2 ** 20:.1f} MB) instead of decoding every batch")
    return FolderDataset(loaded[0], loaded[1] if len(loaded) > 1 else None, classNames)


def load_test_dataset(dataset, inputShape, log=print, faces=False):
    """(images, labels) of dataset's test images as a model of inputShape (height, width,
    channels) reads them: a uint8 array of MNIST-style data, or the ImageFiles of a class-folder
    tree's test/ folder. Raises DatasetError when they do not fit the model."""
    from pyimagesearch.data.datasets import check_image_format, load_dataset

    (height, width, channels) = inputShape
    colorMode = color_mode_of(channels)
    if not is_class_folder_tree(dataset):
        (_, (testX, testY)) = load_dataset(dataset)
        check_image_format(testX, dataset, (height, width), colorMode)
        return testX, testY
    if not has_test_folder(dataset):
        raise DatasetError(f"{dataset} has no train/ and test/ folders, so no test images "
                           f"(its validation split chose the model's threshold)")
    # the caller loads them all at once: decoded once here, kept, never decoded again
    return load_image_folders(dataset, (height, width), colorMode, log, cache="always",
                              testOnly=True, faces=faces).test


def load_training_dataset(dataset, imageSize=None, colorMode="grayscale", log=print,
                          cache="auto", faces=False):
    """((trainX, trainY), (testX, testY), class names) of any dataset the training script
    takes, saying through log what it loads: class folders as ImageFiles at imageSize
    (default 28x28) and colorMode (testX and testY are None without a test/ folder, the
    class names are the folders'), or MNIST-style uint8 arrays (class names None), which
    refuse another size or colour than theirs. With faces (class folders only), each image
    is its photo's largest face, aligned, decoded once and kept."""
    from pyimagesearch.data.datasets import check_image_format, load_dataset

    if is_class_folder_tree(dataset):
        # class folders: paths and labels only, each batch is decoded from disk
        log(f"[INFO] loading images from {dataset_name(dataset)}...")
        # a face is found and aligned once, not every batch
        (train, test, classNames) = load_image_folders(dataset, imageSize or (28, 28),
                                                       colorMode, log,
                                                       "always" if faces else cache,
                                                       faces=faces)
        return train, test or (None, None), classNames
    if faces:
        raise DatasetError("--images faces reads photos from class folders, not MNIST-style "
                           "arrays")
    # load MNIST dataset (the channel dimension is added batch by batch)
    log("[INFO] loading MNIST dataset...")
    (train, test) = load_dataset(dataset)
    check_image_format(train[0], dataset, imageSize, colorMode)
    return train, test, None
