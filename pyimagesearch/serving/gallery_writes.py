"""Writing the gallery: an image file is written whole or not at all, one process at a time
(a lock on the folder), and each version of the index is a new one, never one changed in
place."""
import fcntl
import os
import secrets

import numpy as np


class FolderLock:
    """An exclusive flock on a folder, waited for, for a with block: it leaves no file behind,
    and the operating system lets go of it when the process ends, however it ends."""

    def __init__(self, folder):
        self.folder = folder

    def __enter__(self):
        self.descriptor = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self.descriptor, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.descriptor)


def write_whole(path, data):
    """Write data at path (which must not exist) through a hidden file renamed into place: the
    gallery never holds half an image, and scans skip the hidden file."""
    partial = os.path.join(os.path.dirname(path), f".partial-{secrets.token_hex(6)}")
    try:
        with open(partial, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(partial, path)  # never replaces a file of the same name
    finally:
        os.remove(partial)


def with_image(index, relative, label, embedding, stat):
    """A new index: index with one more image, in the path order a refresh keeps; a row of
    the same path (its file removed by hand, its name enrolled again) is replaced: one row a
    path."""
    from pyimagesearch.search.gallery import GalleryIndex, changed_ns

    stale = np.flatnonzero(index.paths == relative)
    if len(stale):
        index = without_row(index, stale)
    at = int(np.searchsorted(index.paths, relative))
    return GalleryIndex(
        np.insert(index.embeddings, at, embedding, axis=0),
        np.insert(index.paths.astype(object), at, relative).astype(str),
        np.insert(index.labels.astype(object), at, label).astype(str),
        np.insert(index.sizes, at, stat.st_size), np.insert(index.mtimes, at, changed_ns(stat)),
        dict(index.header))


def without_row(index, row):
    """A new index: index without the image at row."""
    from pyimagesearch.search.gallery import GalleryIndex

    return GalleryIndex(*(np.delete(column, row, axis=0) for column in (
        index.embeddings, index.paths, index.labels, index.sizes, index.mtimes)),
        dict(index.header))
