"""A trained siamese model as a service: compare two images, search a gallery, enrol and
remove gallery images; what the HTTP server (pyimagesearch/serving/server.py) answers with, free of
HTTP itself.

The model is loaded once. Comparisons and searches that arrive together go through the model
together (pyimagesearch/serving/batching.py). The gallery folder is the truth: an enrolled image is
written into it before its index is, and the index file is replaced whole, so a crash at any
point leaves a gallery that the next start indexes right. Several processes may serve one
gallery: enrolments take a lock on the gallery folder, and each search first checks that the
index it holds is the one on disk.
"""
import fcntl
import io
import os
import re
import secrets
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from pyimagesearch.data.model_inputs import face_model

# uploads decoded at most this many pixels: the header says how many before anything is decoded
MOST_PIXELS = 40_000_000
# a label is one folder name of the gallery
MOST_LABEL_LENGTH = 100
# the kinds of image the server takes (Pillow reads their header), with their file extension
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp",
           "PPM": ".ppm"}


class RequestError(ValueError):
    """A request the service refuses: status is the HTTP status that says why."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class GalleryState:
    """One version of the gallery's index, never changed once made: a search holds on to the
    version it started with while an enrolment makes the next."""
    index: object
    faissIndex: object
    kind: str
    stamp: tuple


def file_stamp(path):
    """What tells that a file was replaced: its inode, size and time of last change."""
    stat = os.stat(path)
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def image_format(data, mostPixels=MOST_PIXELS):
    """The format of an uploaded image (a key of FORMATS), from its header alone: RequestError
    when it is not an image the server takes, or has more than mostPixels pixels (a
    decompression bomb is refused before it is decoded)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            (width, height, kind) = (*image.size, image.format)
    except Image.DecompressionBombError:
        raise RequestError(f"the image has more than {mostPixels:,} pixels", 413) from None
    except Exception:  # Pillow raises many kinds for what is not an image
        raise RequestError("not an image (PNG, JPEG, BMP, TIFF, WebP or PPM)", 415) from None
    if kind not in FORMATS:
        raise RequestError(f"{kind} images are not taken: PNG, JPEG, BMP, TIFF, WebP or PPM",
                           415)
    if width * height > mostPixels:
        raise RequestError(f"the image is {width}x{height}: more than {mostPixels:,} pixels",
                           413)
    return kind


def check_label(label):
    """A label must be one plain folder name: never a path that could lead elsewhere."""
    if (not label or len(label) > MOST_LABEL_LENGTH or label.startswith(".")
            or re.search(r"[/\\\x00-\x1f\x7f]", label)):
        raise RequestError(f"label {label!r} is not a class name: 1 to {MOST_LABEL_LENGTH} "
                           f"characters, no slashes or control characters, not starting "
                           f"with a dot")
    return label


def upload_name(filename, kind):
    """The file name an upload is kept under: its own stem made safe, the format's extension."""
    stem = os.path.splitext(os.path.basename(filename or ""))[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "image"
    return stem + FORMATS[kind]


class SiameseService:
    """The model (and, with a gallery, its index) behind compare, search, enrol and remove."""

    def __init__(self, modelPath, gallery=None, indexFile=None, indexKind="auto",
                 threshold=None, window=0.002, most=64, mostPixels=MOST_PIXELS, log=print):
        from pyimagesearch import config
        from pyimagesearch.data.model_inputs import input_loader
        from pyimagesearch.models.model_io import SiameseModel, check_threshold
        from pyimagesearch.search.gallery import default_index_path
        from pyimagesearch.search.gallery_search import index_header
        from pyimagesearch.search.index import check_index_kind
        from pyimagesearch.serving.batching import Batcher

        check_index_kind(indexKind)
        self.model = SiameseModel(modelPath)
        (self.modelPath, self.mostPixels, self.log) = (modelPath, mostPixels, log)
        self.metadata = self.model.metadata
        if threshold is not None:
            check_threshold(threshold, "distance", "--threshold")
        # uploads are taken as they are, as the scripts take a folder (no --prepare)
        self.load = input_loader(self.metadata, False)
        self.comparisons = Batcher(self._compare_batch, window, most, "compare")
        blank = np.zeros(self.model.input_shape, np.float32)
        self.comparisons.warm_up((blank, blank))
        (self.gallery, self.state, self.searches) = (gallery, None, None)
        if gallery is None:
            return
        self.model.check_embed()
        (self.indexKind, self.threshold) = (indexKind, threshold)
        self.indexPath = indexFile or default_index_path(config.BASE_OUTPUT, gallery,
                                                         modelPath)
        self.header = index_header(self.model, modelPath, False)
        # one enrolment at a time in this process; the folder's lock orders the processes
        self.writing = threading.Lock()
        with self._locked():
            self._open_index()
        self.searches = Batcher(self._search_batch, window, most, "search")
        self.searches.warm_up((blank, 5, "warm-up"))

    def close(self):
        for batcher in (self.comparisons, self.searches):
            if batcher:
                batcher.close()

    # --- images -----------------------------------------------------------------------------
    def decode(self, data, name="upload"):
        """An uploaded image at the model's size and colour mode: RequestError when it is not
        one the server takes."""
        from pyimagesearch.data.images import decode_image
        from pyimagesearch.faces.reading import NoFaceError

        kind = image_format(data, self.mostPixels)
        size = tuple(self.metadata["input_shape"][:2])
        try:
            (image, _) = decode_image(data, name, size, False, self.metadata["color_mode"],
                                      face_model(self.metadata))
        except NoFaceError as e:
            raise RequestError(str(e), 422) from None
        except ValueError as e:
            raise RequestError(str(e), 415) from None
        return image, kind

    # --- compare ----------------------------------------------------------------------------
    def compare(self, dataA, dataB):
        """A Future of the pair's score, verdict and the threshold it was judged by: what the
        test script prints for the two files."""
        (imageA, _) = self.decode(dataA, "a")
        (imageB, _) = self.decode(dataB, "b")
        return self.comparisons.submit((imageA, imageB))

    def _compare_batch(self, pairs):
        from pyimagesearch.search.evaluation import verdict_of

        shape = (-1, *self.model.input_shape)
        scores = self.model.score_batch(np.stack([a for (a, _) in pairs]).reshape(shape),
                                        np.stack([b for (_, b) in pairs]).reshape(shape))
        (scoreKind, threshold) = (self.metadata["score"], self.metadata["threshold"])
        return [{"score": float(score), "verdict": verdict_of(score, scoreKind, threshold),
                 "threshold": threshold, "score_kind": scoreKind} for score in scores]

    # --- search -----------------------------------------------------------------------------
    def search(self, data, top=5, name="query"):
        """A Future of one query's record, as the search script's --json writes it: the
        query's name, its `top` nearest gallery images and the answer (None for unknown)."""
        self._need_gallery()
        if not 1 <= top <= 1000:
            raise RequestError(f"top must be 1 to 1000, got {top}")
        if face_model(self.metadata):
            return self._search_faces(data, top, name)
        (image, _) = self.decode(data, name)
        return self.searches.submit((image, top, name))

    def _search_faces(self, data, top, name):
        """A Future of the photo's record with every face answered (face_search's record):
        each face a query of its own in the batches."""
        from pyimagesearch.data.images import decode_photo
        from pyimagesearch.faces.reading import aligned_faces

        image_format(data, self.mostPixels)
        try:
            (photo, _) = decode_photo(data, name, self.metadata["color_mode"])
        except ValueError as e:
            raise RequestError(str(e), 415) from None
        (faces, detections) = aligned_faces(photo, tuple(self.metadata["input_shape"][:2]))
        if not faces:
            raise RequestError(f"{name} holds no face the detector finds", 422)
        from pyimagesearch.search.face_search import face_record

        return gathered([self.searches.submit((face, top, name)) for face in faces],
                        lambda results: face_record(name, detections, results))

    def _search_batch(self, queries):
        from pyimagesearch.search.gallery_search import answer_queries, open_set_threshold

        state = self._current()
        (threshold, _) = open_set_threshold(self.threshold, state.index)
        most = max(top for (_, top, _) in queries)
        results = answer_queries(self.model, self.load, state.index, self.gallery,
                                 [name for (_, _, name) in queries],
                                 [image for (image, _, _) in queries], most, state.kind,
                                 threshold, state.faissIndex)
        return [{**result, "neighbours": result["neighbours"][:top]}
                for (result, (_, top, _)) in zip(results, queries)]

    def open_set(self):
        """(the distance from which a query is unknown, how it was chosen)."""
        from pyimagesearch.search.gallery_search import open_set_threshold

        return open_set_threshold(self.threshold, self._current().index)

    # --- the gallery ------------------------------------------------------------------------
    def enrol(self, data, label, filename=None):
        """Add an uploaded image to the gallery under label (a class, new or not): written into
        the gallery folder, then into its index, answered by the next search. Returns its
        record (path relative to the gallery, label, the gallery's size)."""
        self._need_gallery()
        check_label(label)
        (image, kind) = self.decode(data, filename or "image")
        folder = self._inside(os.path.join(self.gallery, label), label)
        with self.writing, self._locked():
            state = self._current()
            os.makedirs(folder, exist_ok=True)
            name = upload_name(filename, kind)
            if os.path.exists(os.path.join(folder, name)):
                name = f"{os.path.splitext(name)[0]}-{secrets.token_hex(4)}{FORMATS[kind]}"
            path = os.path.join(folder, name)
            write_whole(path, data)
            relative = os.path.relpath(path, self.gallery)
            embedding = self.model.embed(image.reshape(1, *self.model.input_shape))[0]
            index = with_image(state.index, relative, label, embedding, os.stat(path))
            self._commit(index)
        return {"path": relative, "label": label, "gallery_size": len(index)}

    def remove(self, relative):
        """Take an image out of the gallery (its file and its index row): RequestError 404 for
        a path the gallery's index does not hold."""
        self._need_gallery()
        with self.writing, self._locked():
            state = self._current()
            row = self._row(state.index, relative)
            if len(state.index) <= 2:
                raise RequestError("the gallery needs at least two images: add another "
                                   "before removing this one", 409)
            path = self._inside(os.path.join(self.gallery, relative), relative)
            # the file first: a crash before the index is written leaves a file-less row,
            # which the next start drops
            os.remove(path)
            self._commit(without_row(state.index, row))
        return {"removed": relative, "gallery_size": len(state.index) - 1}

    def gallery_file(self, relative):
        """The file of a gallery image named by its path in the index (404 otherwise)."""
        self._need_gallery()
        self._row(self._current().index, relative)
        return self._inside(os.path.join(self.gallery, relative), relative)

    def health(self):
        record = {"model": os.path.abspath(self.modelPath), "score_kind": self.metadata["score"],
                  "threshold": self.metadata["threshold"],
                  "input_shape": list(self.model.input_shape), "gallery": None}
        if self.gallery is not None:
            state = self._current()
            (openSet, how) = self.open_set()
            record["gallery"] = {
                "path": os.path.abspath(self.gallery), "images": len(state.index),
                "classes": len(np.unique(state.index.labels)), "index": state.kind,
                "index_file": os.path.abspath(self.indexPath),
                "unknown_from_distance": None if openSet == float("inf") else openSet,
                "unknown_threshold_chosen": how}
        return record

    # --- keeping the index right ------------------------------------------------------------
    def _need_gallery(self):
        if self.gallery is None:
            raise RequestError("this server has no gallery: start it with --gallery DIR", 404)

    def _inside(self, path, name):
        """path, when it lies inside the gallery once links are followed (RequestError 403
        otherwise: a label or path never leads out of it)."""
        root = os.path.realpath(self.gallery)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            raise RequestError(f"{name} leads outside the gallery", 403)
        return path

    @staticmethod
    def _row(index, relative):
        rows = np.flatnonzero(index.paths == relative)
        if not len(rows):
            raise RequestError(f"the gallery has no image {relative}", 404)
        return int(rows[0])

    def _locked(self):
        """The lock on the gallery folder, held by one process at a time while it writes."""
        return FolderLock(self.gallery)

    def _open_index(self):
        from pyimagesearch.search.gallery_search import open_gallery_index

        (index, _) = open_gallery_index(self.model, self.load, self.gallery, self.indexPath,
                                        self.header, log=self.log)
        self._use(index)

    def _use(self, index):
        from pyimagesearch.search.index import FaissIndex, choose_index

        kind = choose_index(self.indexKind, len(index), log=lambda line: None)
        faissIndex = FaissIndex(index.embeddings) if kind == "faiss" else None
        self.state = GalleryState(index, faissIndex, kind, file_stamp(self.indexPath))

    def _current(self):
        """The index as it is on disk now: another process serving the same gallery may have
        enrolled or removed an image since this one last looked."""
        from pyimagesearch.search.gallery import load_index

        state = self.state
        if file_stamp(self.indexPath) == state.stamp:
            return state
        (index, why) = load_index(self.indexPath, self.header)
        if why:
            raise RequestError(f"the gallery's index changed and cannot be read ({why}): "
                               f"restart the server", 503)
        self._use(index)
        return self.state

    def _commit(self, index):
        from pyimagesearch.search.gallery import save_index
        from pyimagesearch.search.gallery_search import calibrate

        calibrate(index)
        save_index(index, self.indexPath)
        self._use(index)


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


def gathered(futures, combine):
    """A Future of combine([each future's result]) once all of futures are done (the first
    exception, if one failed)."""
    done = Future()
    left = {"count": len(futures), "lock": threading.Lock()}

    def one_done(_):
        with left["lock"]:
            left["count"] -= 1
            if left["count"]:
                return
        try:
            done.set_result(combine([future.result() for future in futures]))
        except Exception as e:  # noqa: BLE001 (handed to whoever waits on the Future)
            done.set_exception(e)

    for future in futures:
        future.add_done_callback(one_done)
    return done


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
    """A new index: index with one more image, in the path order a refresh keeps."""
    from pyimagesearch.search.gallery import GalleryIndex, changed_ns

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
