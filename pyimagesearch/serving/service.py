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
import os
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from pyimagesearch.data.model_inputs import face_model
from pyimagesearch.serving.gallery_writes import FolderLock, with_image, without_row, write_whole
from pyimagesearch.serving.uploads import (
    FORMATS,
    MOST_DECODED_BYTES,
    MOST_PIXELS,
    RequestError,
    check_label,
    image_format,
    reencoded,
    upload_name,
)

# images decoded at once, off the server's event loop (each at most MOST_DECODED_BYTES)
DECODERS = 2


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


class SiameseService:
    """The model (and, with a gallery, its index) behind compare, search, enrol and remove."""

    def __init__(self, modelPath, gallery=None, indexFile=None, indexKind="auto",
                 threshold=None, window=0.002, most=64, mostPixels=MOST_PIXELS,
                 mostDecoded=MOST_DECODED_BYTES, mostImages=None, log=print):
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
        (self.mostDecoded, self.mostImages) = (mostDecoded, mostImages)
        # images are decoded here, a few at a time, never on the server's event loop
        self.decoders = ThreadPoolExecutor(DECODERS, thread_name_prefix="decode")
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
        self.decoders.shutdown(wait=False, cancel_futures=True)

    # --- images -----------------------------------------------------------------------------
    def decode(self, data, name="upload"):
        """An uploaded image at the model's size and colour mode: RequestError when it is not
        one the server takes."""
        from pyimagesearch.data.images import decode_image
        from pyimagesearch.faces.reading import NoFaceError

        kind = image_format(data, self.mostPixels, self.mostDecoded)
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

        image_format(data, self.mostPixels, self.mostDecoded)
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
        (threshold, _) = open_set_threshold(self.threshold, state.index, self.metadata)
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

        return open_set_threshold(self.threshold, self._current().index,
                                  self.metadata)

    # --- the gallery ------------------------------------------------------------------------
    def enrol(self, data, label, filename=None):
        """Add an uploaded image to the gallery under label (a class, new or not): written into
        the gallery folder (re-encoded, never the client's bytes as they came), then into its
        index, answered by the next search; an index that cannot be saved takes the image out
        again. Returns its record (path relative to the gallery, label, the gallery's size)."""
        self._need_gallery()
        label = check_label(label)
        stored = reencoded(data, image_format(data, self.mostPixels, self.mostDecoded))
        (image, kind) = self.decode(stored, filename or "image")
        folder = self._inside(os.path.join(self.gallery, label), label)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise RequestError(f"label {label!r} names a file of the gallery, not a class", 409)
        with self.writing, self._locked():
            state = self._current()
            if self.mostImages is not None and len(state.index) >= self.mostImages:
                raise RequestError(f"the gallery holds {len(state.index):,} images, the most "
                                   f"this server takes (--most-gallery-images)", 409)
            os.makedirs(folder, exist_ok=True)
            name = upload_name(filename, kind)
            if os.path.exists(os.path.join(folder, name)):
                name = f"{os.path.splitext(name)[0]}-{secrets.token_hex(4)}{FORMATS[kind]}"
            path = os.path.join(folder, name)
            write_whole(path, stored)
            relative = os.path.relpath(path, self.gallery)
            try:
                embedding = self.model.embed(image.reshape(1, *self.model.input_shape))[0]
                index = with_image(state.index, relative, label, embedding, os.stat(path))
                self._commit(index)
            except BaseException:
                os.remove(path)  # the gallery as it was: no image its index lacks
                raise
        return {"path": relative, "label": label, "gallery_size": len(index)}

    def remove(self, relative):
        """Take an image out of the gallery (its index row, then its file): RequestError 404
        for a path the gallery's index does not hold, or whose file is gone (its row is
        dropped then)."""
        self._need_gallery()
        check_path(relative)
        with self.writing, self._locked():
            state = self._current()
            row = self._row(state.index, relative)
            path = self._inside(os.path.join(self.gallery, relative), relative)
            if not os.path.isfile(path):
                self._drop(state.index, row, relative)
            if len(state.index) <= 2:
                raise RequestError("the gallery needs at least two images: add another "
                                   "before removing this one", 409)
            # the index first: a failed write leaves both as they were, and a file without
            # its row is indexed again at the next start
            self._commit(without_row(state.index, row))
            os.remove(path)
        return {"removed": relative, "gallery_size": len(state.index) - 1}

    def gallery_file(self, relative):
        """(the bytes, the media type) of a gallery image named by its path in the index;
        RequestError 404 otherwise, or when its file is gone (its row is dropped then)."""
        self._need_gallery()
        check_path(relative)
        self._row(self._current().index, relative)
        path = self._inside(os.path.join(self.gallery, relative), relative)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except (FileNotFoundError, IsADirectoryError):
            with self.writing, self._locked():
                state = self._current()
                self._drop(state.index, self._row(state.index, relative), relative)
        return data, media_type(path)

    def _drop(self, index, row, relative):
        """Drop the row of an image whose file is gone (removed by hand), then 404."""
        self._commit(without_row(index, row))
        raise RequestError(f"the gallery has no image {relative} (its file is gone)", 404)

    def health(self):
        # names, never the server's absolute paths
        record = {"model": os.path.basename(os.path.normpath(self.modelPath)),
                  "score_kind": self.metadata["score"],
                  "threshold": self.metadata["threshold"],
                  "input_shape": list(self.model.input_shape), "gallery": None}
        if self.gallery is not None:
            state = self._current()
            (openSet, how) = self.open_set()
            record["gallery"] = {
                "path": os.path.basename(os.path.normpath(self.gallery)),
                "images": len(state.index),
                "classes": len(np.unique(state.index.labels)), "index": state.kind,
                "index_file": os.path.basename(self.indexPath),
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
        from pyimagesearch.search.gallery import remove_stale_partials
        from pyimagesearch.search.gallery_search import open_gallery_index

        remove_stale_partials(self.indexPath)
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
            # why may name the index file's absolute path: the client is told what, not where
            raise RequestError(f"the gallery's index ({os.path.basename(self.indexPath)}) "
                               f"changed and cannot be read: restart the server", 503)
        self._use(index)
        return self.state

    def _commit(self, index):
        from pyimagesearch.search.gallery import save_index
        from pyimagesearch.search.gallery_search import calibrate

        calibrate(index)
        save_index(index, self.indexPath)
        self._use(index)


def check_path(relative):
    """A gallery path as a client names it: RequestError 400 for one no file can have."""
    if "\x00" in relative:
        raise RequestError("a path holds no NUL character", 400)


def media_type(path):
    import mimetypes

    return mimetypes.guess_type(path)[0] or "application/octet-stream"


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


