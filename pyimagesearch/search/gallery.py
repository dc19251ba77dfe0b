"""A gallery of known images and the index of their embeddings, kept right on disk.

The gallery is a folder: images in class subfolders take the subfolder's name as their label;
an image directly in the folder is an item of its own, labelled by its file name. The index
file (a .npz, written beside the old one and swapped in whole) holds the embeddings with each
file's path, label, size and time of last change, and which model (and image preparation) made
them. A refresh re-embeds only added or changed files and drops removed ones; an index that
cannot be read, was written by something else, fails its checksum or was made by another
model is rebuilt with a one-line notice, never trusted.
"""
import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np

INDEX_FORMAT = "siamese-gallery-index"
# 2: the times are the later of each file's modification and status change (st_ctime, which
# every write moves, even one that puts the old modification time back)
INDEX_VERSION = 2
# files embedded per call into the model (and per step of the progress bar)
EMBED_CHUNK = 512


@dataclass
class GalleryIndex:
    """The embeddings (n, d) of a gallery's images, with their paths (relative to the
    gallery), labels, sizes and times of last change (ns), and the header that says what made
    them (model fingerprint, preparation, input shape)."""
    embeddings: np.ndarray
    paths: np.ndarray
    labels: np.ndarray
    sizes: np.ndarray
    mtimes: np.ndarray
    header: dict

    def __len__(self):
        return len(self.paths)


def scan_gallery(root, exclude=()):
    """(paths relative to root, labels) of the gallery's images, sorted by path; the folders
    in exclude (the search's own output, where it lies inside the gallery) left out."""
    from pyimagesearch.data.images import list_image_paths

    paths = [os.path.relpath(path, root)
             for path in list_image_paths(root, "--gallery folder", exclude=exclude)]
    labels = [path.split(os.sep)[0] if os.sep in path else os.path.splitext(path)[0]
              for path in paths]
    return paths, labels


def checksum(index):
    """A digest of the index's contents, stored in its header to tell a tampered file."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(index.embeddings, np.float32).tobytes())
    for column in (index.paths, index.labels):
        digest.update("\0".join(column.tolist()).encode("utf-8", "surrogateescape"))
    digest.update(np.ascontiguousarray(index.sizes, np.int64).tobytes())
    digest.update(np.ascontiguousarray(index.mtimes, np.int64).tobytes())
    digest.update(json.dumps({k: v for (k, v) in index.header.items() if k != "checksum"},
                             sort_keys=True).encode())
    return digest.hexdigest()


def save_index(index, path):
    """Write the index at path without ever leaving a half-written file in its place."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    index.header["checksum"] = checksum(index)
    partial = f"{path}.partial-{os.getpid()}"
    try:
        with open(partial, "wb") as f:
            np.savez(f, embeddings=index.embeddings.astype(np.float32),
                     paths=index.paths.astype(str), labels=index.labels.astype(str),
                     sizes=index.sizes.astype(np.int64), mtimes=index.mtimes.astype(np.int64),
                     header=np.array(json.dumps(index.header)))
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def remove_stale_partials(path):
    """Remove what save_index left of path when killed mid-write (path.partial-PID of a
    process no longer running): it would lie beside the index for good."""
    import glob

    from pyimagesearch.models.model_io import process_alive

    for partial in glob.glob(f"{glob.escape(path)}.partial-*"):
        if not process_alive(partial.rsplit("-", 1)[-1]):
            try:
                os.remove(partial)
            except FileNotFoundError:
                pass


def is_index_file(path):
    """Whether the file at path is a gallery index of this project (of any version, for any
    model): a file that is not is never overwritten by one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
    except Exception:  # numpy, zipfile and json raise many kinds for a foreign file
        return False
    return isinstance(header, dict) and header.get("format") == INDEX_FORMAT


def load_index(path, expected):
    """(the index at path, None), or (None, why it cannot be used) when it is missing,
    unreadable, foreign, tampered with, or made otherwise than expected says (a dict of
    header fields: model, prepare, input_shape)."""
    if not os.path.exists(path):
        return None, None
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            index = GalleryIndex(data["embeddings"], data["paths"], data["labels"],
                                 data["sizes"], data["mtimes"], header)
    except Exception as e:  # numpy, zipfile and json raise many kinds for a damaged file
        return None, f"{path} is not a readable index ({type(e).__name__})"
    if not isinstance(header, dict) or header.get("format") != INDEX_FORMAT:
        return None, f"{path} is not a gallery index of this project"
    if header.get("version") != INDEX_VERSION:
        return None, f"{path} is a gallery index of another version"
    rows = {len(index.paths), len(index.labels), len(index.sizes), len(index.mtimes),
            len(index.embeddings)}
    if len(rows) != 1 or header.get("checksum") != checksum(index):
        return None, f"{path} fails its checksum (changed since it was written)"
    for (field, value) in expected.items():
        if header.get(field) != value:
            return None, f"{path} was made with another {field.replace('_', ' ')}"
    return index, None


def changed_ns(stat):
    """When a file last changed, in ns: the later of its modification and status change."""
    return max(stat.st_mtime_ns, stat.st_ctime_ns)


def refresh_index(index, root, embedFiles, header, exclude=()):
    """The index brought up to date with the gallery at root: unchanged files (same size and
    time of last change) keep their embeddings, added and changed ones are embedded with
    embedFiles(paths) -> (the paths it could read, their embeddings), removed ones are
    dropped; the folders in exclude are not the gallery's. Returns (index, (embedded, kept,
    dropped)); ValueError when nothing is left."""
    (paths, labels) = scan_gallery(root, exclude)
    stats = {path: os.stat(os.path.join(root, path)) for path in paths}
    old = {} if index is None else {path: i for (i, path) in enumerate(index.paths.tolist())}
    kept = [path for path in paths if path in old
            and (index.sizes[old[path]], index.mtimes[old[path]])
            == (stats[path].st_size, changed_ns(stats[path]))]
    keptSet = set(kept)
    (embeddedPaths, embeddings) = embedFiles([path for path in paths if path not in keptSet])
    vectors = {path: index.embeddings[old[path]] for path in kept}
    vectors.update(zip(embeddedPaths, embeddings))
    if not vectors:
        raise ValueError(f"no usable images in the gallery {root}")
    rows = sorted(vectors)
    label = dict(zip(paths, labels))
    merged = GalleryIndex(
        np.stack([vectors[path] for path in rows]).astype(np.float32),
        np.array(rows, dtype=str), np.array([label[path] for path in rows], dtype=str),
        np.array([stats[path].st_size for path in rows], np.int64),
        np.array([changed_ns(stats[path]) for path in rows], np.int64),
        {"format": INDEX_FORMAT, "version": INDEX_VERSION, **header})
    dropped = sum(1 for path in old if path not in stats)
    return merged, (len(embeddedPaths), len(kept), dropped)


def file_embedder(model, load, root):
    """embedFiles for refresh_index: the files (paths relative to root) loaded with load (as
    model_inputs.input_loader gives it; unreadable ones skipped with a warning) and embedded
    by model, EMBED_CHUNK at a time, with a progress bar when there are more."""
    def embed(paths):
        import keras

        (kept, vectors) = ([], [])
        progress = keras.utils.Progbar(len(paths)) if len(paths) > EMBED_CHUNK else None
        for start in range(0, len(paths), EMBED_CHUNK):
            chunk = [os.path.join(root, path) for path in paths[start:start + EMBED_CHUNK]]
            (names, images) = load(chunk, root, required=False)
            if images:
                vectors.append(model.embed(np.stack(images).reshape(-1, *model.input_shape)))
                kept += names
            if progress:
                progress.update(min(start + EMBED_CHUNK, len(paths)))
        return kept, (np.concatenate(vectors) if vectors else np.zeros((0, 0), np.float32))
    return embed


def default_index_path(output, gallery, modelPath):
    """Where a gallery's index lives unless --index-file says: in the output folder, named
    after the gallery and the model."""
    def name(path):
        return os.path.basename(os.path.normpath(os.path.abspath(path))) or "root"
    return os.path.join(output, f"index_{name(gallery)}_{name(modelPath)}.npz")
