"""Answering queries against a gallery: its index brought up to date, the open-set threshold,
and each query's neighbours, scored as the test script scores a pair. The search script and the
server both answer here, so the same query gets the same answer from either."""
import os

import numpy as np


def index_header(model, modelPath, prepare):
    """The header fields that say what made an index: the model, the preparation, the input."""
    from pyimagesearch.models.model_io import model_fingerprint

    return {"model": model_fingerprint(modelPath), "prepare": bool(prepare),
            "input_shape": list(model.input_shape)}


def open_gallery_index(model, load, gallery, path, header, exclude=(), log=print):
    """The gallery's index at path, brought up to date with the folder (and written back only
    when something changed), with its open-set calibration, and say so in one line; returns
    (index, (embedded, kept, dropped)). A file at path that is not an index is left alone
    (ValueError)."""
    from pyimagesearch.search.gallery import (
        file_embedder,
        is_index_file,
        load_index,
        refresh_index,
        save_index,
    )

    if os.path.exists(path) and not is_index_file(path):
        raise ValueError(f"{path} exists and is not a gallery index: it is left as it is; "
                         f"pass another --index-file")
    (old, why) = load_index(path, header)
    if why:
        log(f"[INFO] rebuilding the index: {why}")
    (index, counts) = refresh_index(old, gallery, file_embedder(model, load, gallery),
                                    header, exclude=exclude)
    if len(index) < 2:
        raise ValueError(f"the gallery {gallery} needs at least two usable images, "
                         f"found {len(index)}")
    unchanged = old is not None and counts[0] == counts[2] == 0
    if unchanged and "open_set" in old.header:
        index.header["open_set"] = old.header["open_set"]
    else:
        calibrate(index)
        save_index(index, path)
    log(f"[INFO] index {path}: embedded {counts[0]:,}, kept {counts[1]:,}, dropped "
        f"{counts[2]:,}; {len(index):,} images of {len(np.unique(index.labels)):,} classes")
    return index, counts


def calibrate(index):
    """Store the gallery's open-set calibration in its header: it changes only with the
    gallery, so it is computed once per change and kept in the index."""
    from pyimagesearch.search.index import calibrate_gallery

    index.header["open_set"] = calibrate_gallery(index.embeddings, index.labels)


def open_set_threshold(threshold, index, metadata=None):
    """(threshold, how it was chosen): the one given; a face model's own (chosen on the
    validation photos of the people it trained on: a gallery of one photo a person has no
    distances of its own to choose by); or calibrated on the gallery (on at most 2,000 of its
    images, seeded: the same gallery gives the same threshold)."""
    from pyimagesearch.search.index import REJECT_UNKNOWN

    if threshold is not None:
        return threshold, "--threshold"
    if (metadata or {}).get("open_set_threshold") is not None:
        return (metadata["open_set_threshold"], "the face model's, calibrated on the "
                "validation photos of the people it trained on")
    if index.header["open_set"] is None:
        # one class: no other class to tell the distance of an unknown query by
        return float("inf"), ("the gallery has one class, so nothing tells an unknown query "
                              "apart: every query gets it; pass --threshold to reject far ones")
    (threshold, accepted) = index.header["open_set"]
    how = (f"calibrated on the gallery to reject {REJECT_UNKNOWN:.0%} of the classes it "
           f"leaves out")
    if accepted is not None:
        how += f"; it accepts {accepted:.1%} of its own images left out one at a time"
    return threshold, how


def answer_queries(model, load, index, gallery, names, queries, top, kind, threshold,
                   faissIndex=None):
    """For each query image: its `top` nearest gallery images (path, label, distance, score,
    verdict), nearest first, and the answer (the nearest one's class, or None for unknown
    from `threshold` on); kind is the search (exact or faiss, with the gallery's FaissIndex
    when one is built already). The scores are the model's own for the pair of images, as the
    test script gives them."""
    from pyimagesearch.search.evaluation import verdict_of
    from pyimagesearch.search.index import search

    embeddings = model.embed(np.stack(queries).reshape(-1, *model.input_shape))
    (distances, rows) = search(kind, index.embeddings, embeddings, top, faissIndex)
    scores = neighbour_scores(model, load, index, gallery, queries, embeddings, rows)
    (scoreKind, pairThreshold) = (model.metadata["score"], model.metadata["threshold"])
    results = []
    for (q, name) in enumerate(names):
        neighbours = [{"path": str(index.paths[r]), "label": str(index.labels[r]),
                       "distance": float(d), "score": float(s),
                       "verdict": verdict_of(s, scoreKind, pairThreshold)}
                      for (r, d, s) in zip(rows[q], distances[q], scores[q])]
        known = distances[q, 0] < threshold
        results.append({"query": name, "answer": neighbours[0]["label"] if known else None,
                        "neighbours": neighbours})
    return results


def neighbour_scores(model, load, index, gallery, queries, embeddings, rows):
    """The scores (queries, top) of each query with its neighbours (rows of the index): from
    the embeddings at hand through the model's head, or, for a model exported before it had
    that endpoint, from the images through `serve`."""
    (count, top) = rows.shape
    if model.has_score_embeddings:
        return model.score_embeddings(np.repeat(embeddings, top, axis=0),
                                      index.embeddings[rows.reshape(-1)]).reshape(count, top)
    (_, neighbourImages) = load([os.path.join(gallery, index.paths[r])
                                 for r in rows.reshape(-1)], None)
    stacked = np.stack([*queries, *neighbourImages]).reshape(-1, *model.input_shape)
    pairs = np.array([(q, count + q * top + j) for q in range(count) for j in range(top)])
    return model.score_pairs(stacked, pairs).reshape(count, top)
