"""Nearest gallery embeddings: exact search, an approximate faiss index for large galleries,
and the open-set threshold that says when even the nearest one is too far.

Distances are euclidean, as the siamese model's own. Exact search takes batched matrix
products over blocks of the gallery, so its memory stays bounded whatever the gallery's size;
faiss (optional: `pip install faiss-cpu`) answers large galleries with an inverted-file index.
"""
import math

import numpy as np

# blocks of the exact search: queries x gallery rows per matrix product (about 32 MB)
QUERY_BLOCK = 256
GALLERY_BLOCK = 32768
# --index auto takes faiss (when installed) from this many gallery images on
FAISS_FROM = 50_000
# the fewest images faiss's k-means trains its lists on (about 4 sqrt(n) lists of n images,
# faiss wants 39 points a list): fewer are searched exactly
FAISS_MIN = 1_000
INDEX_KINDS = ("auto", "exact", "faiss")


def has_faiss():
    """Whether the optional faiss package is installed."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def choose_index(kind, gallerySize, log=print):
    """The search to use for --index kind: exact, or faiss (auto takes it from FAISS_FROM
    images on when it is installed; below FAISS_MIN images, where faiss cannot train its
    lists, exact search answers, with a notice). ValueError when faiss is asked for and
    missing."""
    check_index_kind(kind)
    if kind == "auto":
        return "faiss" if gallerySize >= FAISS_FROM and has_faiss() else "exact"
    if kind == "faiss" and gallerySize < FAISS_MIN:
        log(f"[INFO] {gallerySize} images are too few for faiss (it needs {FAISS_MIN} to "
            f"train its lists): searching exactly")
        return "exact"
    return kind


def check_index_kind(kind):
    """Raise ValueError for an unknown --index, or faiss without the faiss package: before
    anything is embedded."""
    if kind not in INDEX_KINDS:
        raise ValueError(f"--index must be one of {', '.join(INDEX_KINDS)}, got {kind!r}")
    if kind == "faiss" and not has_faiss():
        raise ValueError("--index faiss needs the faiss package: pip install faiss-cpu")


def exact_search(gallery, queries, k, exclude=None):
    """(distances, indices), each (queries, k): the k nearest gallery rows of each query,
    nearest first. exclude (one gallery row per query, or -1) leaves that row out, for
    leave-one-out over the gallery itself."""
    gallery = np.asarray(gallery, np.float32)
    queries = np.asarray(queries, np.float32)
    k = min(k, len(gallery) - (exclude is not None))
    galleryNorms = np.einsum("ij,ij->i", gallery, gallery)
    (allDistances, allIndices) = ([], [])
    for qStart in range(0, len(queries), QUERY_BLOCK):
        block = queries[qStart:qStart + QUERY_BLOCK]
        blockNorms = np.einsum("ij,ij->i", block, block)[:, None]
        best = np.full((len(block), 0), np.inf, np.float32)
        bestIdx = np.zeros((len(block), 0), np.int64)
        for gStart in range(0, len(gallery), GALLERY_BLOCK):
            rows = gallery[gStart:gStart + GALLERY_BLOCK]
            squared = blockNorms + galleryNorms[None, gStart:gStart + len(rows)] \
                - 2.0 * block @ rows.T
            if exclude is not None:
                own = np.asarray(exclude[qStart:qStart + len(block)]) - gStart
                inside = (own >= 0) & (own < len(rows))
                squared[np.flatnonzero(inside), own[inside]] = np.inf
            candidates = np.concatenate([best, squared], axis=1)
            candidateIdx = np.concatenate(
                [bestIdx, np.broadcast_to(np.arange(gStart, gStart + len(rows)),
                                          squared.shape)], axis=1)
            top = np.argpartition(candidates, k - 1, axis=1)[:, :k] \
                if candidates.shape[1] > k else np.argsort(candidates, axis=1)
            best = np.take_along_axis(candidates, top, axis=1)
            bestIdx = np.take_along_axis(candidateIdx, top, axis=1)
        order = np.argsort(best, axis=1, kind="stable")
        allDistances.append(np.sqrt(np.maximum(np.take_along_axis(best, order, axis=1), 0)))
        allIndices.append(np.take_along_axis(bestIdx, order, axis=1))
    return np.concatenate(allDistances), np.concatenate(allIndices)


class FaissIndex:
    """An inverted-file faiss index (IndexIVFFlat, euclidean) over the gallery's embeddings:
    about sqrt(n) lists, of which nprobe are searched per query."""

    def __init__(self, gallery, nprobe=None, seed=0):
        import faiss

        gallery = np.ascontiguousarray(gallery, np.float32)
        (count, dim) = gallery.shape
        # no more lists than the images can train (faiss refuses fewer points than lists)
        lists = max(1, min(4096, int(4 * math.sqrt(count)), count // 39))
        quantizer = faiss.IndexFlatL2(dim)
        self.index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_L2)
        # k-means on a sample: faiss's advice is 30 to 256 points per list
        sample = np.random.default_rng(seed).permutation(count)[:min(count, 64 * lists)]
        self.index.train(gallery[np.sort(sample)])
        self.index.add(gallery)
        self.index.nprobe = nprobe or max(1, min(lists, lists // 16 + 8))

    def search(self, queries, k):
        """(distances, indices) as exact_search gives them."""
        (squared, indices) = self.index.search(np.ascontiguousarray(queries, np.float32), k)
        return np.sqrt(np.maximum(squared, 0)), indices.astype(np.int64)


def search(kind, gallery, queries, k, faissIndex=None):
    """(distances, indices) of the k nearest gallery rows of each query, by kind (exact or
    faiss; faissIndex, when given, is the gallery's FaissIndex already built). k is at most
    the gallery's size; faiss's "no result" (-1, where the lists it probed hold fewer than k
    images) never comes back: those queries are searched exactly."""
    k = min(k, len(gallery))
    if kind != "faiss":
        return exact_search(gallery, queries, k)
    (distances, indices) = (faissIndex or FaissIndex(gallery)).search(queries, k)
    short = np.flatnonzero((indices < 0).any(axis=1))
    if len(short):
        (distances[short], indices[short]) = exact_search(gallery, np.asarray(queries)[short], k)
    return distances, indices


def open_set_distances(embeddings, labels, sample=2000, seed=0):
    """The nearest-neighbour distances that tell known from unknown, measured on the gallery:
    (known, unknown). known: each image's distance to the nearest other image of its class (as
    a query of a class the gallery has); unknown: its distance to the nearest image of any
    other class (as a query of a class the gallery lacks). Copies of one image enrolled under
    several labels (duplicate_distance) are passed over on both sides: an image with a copy
    under another label gives no unknown distance, and a copy of an image of the query's own
    class is no other class's neighbour. However many copies there are, they say nothing of
    how far an unknown face or digit lies, and would drag the threshold to zero. Over at most
    `sample` images, drawn with seed; classes of one image give no known distance."""
    labels = np.asarray(labels)
    embeddings = np.asarray(embeddings, np.float32)
    rows = np.arange(len(labels))
    if len(rows) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(labels), sample, replace=False))
    copy = duplicate_distance(embeddings)
    nearest = min(len(labels), COPIES_PASSED_OVER + 1)
    (distances, neighbours) = exact_search(embeddings, embeddings[rows], nearest)
    copied = ((distances <= copy) & (labels[neighbours] != labels[rows][:, None])).any(axis=1)
    (known, unknown) = ([], [])
    for label in np.unique(labels[rows]):
        members = rows[labels[rows] == label]
        same = np.flatnonzero(labels == label)
        other = np.flatnonzero(labels != label)
        if len(same) > 1:
            position = np.searchsorted(same, members)
            known.append(exact_search(embeddings[same], embeddings[members], 1,
                                      exclude=position)[0][:, 0])
        lone = rows[(labels[rows] == label) & ~copied]
        if len(other) and len(lone):
            (far, found) = exact_search(embeddings[other], embeddings[lone],
                                        min(len(other), nearest))
            # a neighbour that is a copy of an image of this class is not another class's
            ownCopy = exact_search(embeddings[same], embeddings[other[found.reshape(-1)]],
                                   1)[0][:, 0].reshape(found.shape) <= copy
            far = np.where(ownCopy, np.inf, far).min(axis=1)
            unknown.append(far[np.isfinite(far)])
    return (np.concatenate(known) if known else np.zeros(0),
            np.concatenate(unknown) if unknown else np.zeros(0))


# the copies of an image under other labels that the calibration looks past: with more of
# them, the image's nearest other-class distance is not counted at all
COPIES_PASSED_OVER = 16


def duplicate_distance(embeddings):
    """The distance up to which two embeddings are one image's (the same file enrolled twice
    under two labels): a thousandth of the embeddings' typical length, far below the distance
    between two photos or drawings and far above the rounding that separates two copies."""
    norms = np.linalg.norm(np.asarray(embeddings, np.float64), axis=1)
    return 1e-3 * (float(np.median(norms)) if len(norms) else 1.0)


# the share of queries of classes the gallery lacks that the calibrated threshold answers
# "unknown", as measured on the gallery itself
REJECT_UNKNOWN = 0.9


def calibrate_open_set(known, unknown, rejectUnknown=REJECT_UNKNOWN):
    """The nearest-neighbour distance from which a query is answered "unknown": the distance
    that rejectUnknown of the gallery's own leave-one-class-out distances (unknown) reach, so
    that about that share of queries of a missing class is rejected, and no more is given up
    of the known queries. Returns (threshold, the share of known distances below it, or None
    without any), or None without unknown distances.

    Chosen by measurement (docs/search.md): against the threshold that balances both kinds
    of error on the gallery, it keeps more of the known queries right when they differ from
    the gallery (another hand, another scanner) at a similar rejection of unknown ones."""
    if not len(unknown):
        return None
    threshold = float(np.quantile(unknown, 1 - rejectUnknown))
    accepted = float(np.mean(np.asarray(known) < threshold)) if len(known) else None
    return threshold, accepted


def calibrate_gallery(embeddings, labels):
    """calibrate_open_set on a gallery's own leave-one-out distances (open_set_distances):
    (threshold, the share of its images accepted)."""
    return calibrate_open_set(*open_set_distances(embeddings, labels))
