"""Which of my known images is this? Search a gallery of images with a trained siamese network.

USAGE
    python search_siamese_network.py --gallery gallery --query examples \\
        --model output/small_vgg_siamese_model --output output/search
    python search_siamese_network.py --gallery my_photos --query new.jpg --top 3 --json out.json

The gallery's embeddings are kept in an index file and brought up to date on every search;
each query gets its nearest gallery images, scored as the test script scores the pair, and an
answer: the class of the best match, or "unknown" when even the best match is too far.
"""
# import the necessary packages
import argparse
import json
import os

import numpy as np

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run
from pyimagesearch.model_inputs import input_loader, resolve_prepare
from pyimagesearch.model_io import check_model_path, read_metadata
from pyimagesearch.search import INDEX_KINDS, check_index_kind


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Find the gallery images nearest to each query image with a trained "
                    "siamese model, and say which class each query is, or that it is none "
                    "of them.")
    ap.add_argument("--gallery", required=True,
                    help="folder of known images: images in class subfolders are labelled by "
                         "the subfolder's name, an image directly in it by its file name")
    ap.add_argument("--query", required=True, nargs="+", metavar="PATH",
                    help="image files, or a folder of them (searched recursively)")
    ap.add_argument("--model", default=config.MODEL_PATH,
                    help=f"the trained SavedModel directory (default: {config.MODEL_PATH})")
    ap.add_argument("--top", type=int, default=5,
                    help="gallery images shown per query, nearest first (default: 5)")
    ap.add_argument("--threshold", type=float, default=None,
                    help="nearest-neighbour distance from which a query is answered "
                         "'unknown' (default: calibrated on the gallery, see docs/search.md)")
    ap.add_argument("--index", choices=INDEX_KINDS, default="auto",
                    help="exact search, or faiss's approximate index (pip install faiss-cpu); "
                         "auto takes faiss for galleries of 50,000 images or more when it is "
                         "installed (default: auto)")
    ap.add_argument("--index-file", default=None, metavar="PATH",
                    help="the gallery's index of embeddings (default: in the output folder, "
                         "named after the gallery and the model)")
    ap.add_argument("--prepare", action=argparse.BooleanOptionalAction, default=False,
                    help="make gallery and query images look like MNIST first (for grayscale "
                         "digit models, as the test script's --prepare) (default: off)")
    ap.add_argument("--output", default=None,
                    help="folder to save one figure per query (query_01.png, ...) and a "
                         "montage (montage.png) instead of showing windows; the index goes "
                         f"there too (default index folder: {config.BASE_OUTPUT})")
    ap.add_argument("--json", default=None, metavar="FILE",
                    help="also write the results as JSON")
    add_verbose_argument(ap)
    args = ap.parse_args(argv)
    if args.top < 1:
        raise ValueError("--top must be at least 1")
    if args.threshold is not None and not 0 <= args.threshold < float("inf"):
        raise ValueError("--threshold must be a distance: a finite number of at least 0")
    return args


def query_paths(inputs):
    """(image paths, folder or None) for --query: one folder, or image files."""
    from pyimagesearch.images import list_image_paths

    if len(inputs) == 1 and os.path.isdir(inputs[0]):
        return list_image_paths(inputs[0], "--query folder"), inputs[0]
    for path in inputs:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--query file {path} does not exist")
    return list(inputs), None


def main(argv=None):
    args = parse_args(argv)
    # check what needs no TensorFlow before loading it
    check_index_kind(args.index)
    if not os.path.isdir(args.gallery):
        raise FileNotFoundError(f"--gallery folder {args.gallery} does not exist")
    (paths, folder) = query_paths(args.query)
    check_model_path(args.model)
    metadata = read_metadata(args.model)
    prepare = resolve_prepare(args.prepare, metadata, args.model, False)
    quiet_tensorflow(args.verbose)
    from pyimagesearch.model_io import SiameseModel
    from pyimagesearch.plotting import pyplot

    plt = pyplot(show=not args.output)
    print("[INFO] loading siamese model...")
    model = SiameseModel(args.model)
    model.check_embed()
    load = input_loader(metadata, prepare)
    print("[INFO] indexing gallery...")
    (index, counts) = index_gallery(args, model, load, prepare)
    print("[INFO] searching gallery...")
    (names, queries) = load(paths, folder)
    # the queries by path (a folder's names are relative to it; files are named as given)
    queryPaths = [os.path.join(folder, name) for name in names] if folder else paths
    results = search_gallery(args, model, load, index, queryPaths, queries)
    report(args, plt, results, counts, model.metadata["score"])


def index_gallery(args, model, load, prepare):
    """The gallery's index, brought up to date (and written back only when something
    changed), with its open-set calibration; returns (index, (embedded, kept, dropped))."""
    from pyimagesearch.gallery import (
        default_index_path,
        file_embedder,
        is_index_file,
        load_index,
        refresh_index,
        save_index,
    )
    from pyimagesearch.model_io import model_fingerprint
    from pyimagesearch.search import calibrate_gallery

    path = args.index_file or default_index_path(args.output or config.BASE_OUTPUT,
                                                 args.gallery, args.model)
    header = {"model": model_fingerprint(args.model), "prepare": bool(prepare),
              "input_shape": list(model.input_shape)}
    if os.path.exists(path) and not is_index_file(path):
        raise ValueError(f"{path} exists and is not a gallery index: it is left as it is; "
                         f"pass another --index-file")
    (old, why) = load_index(path, header)
    if why:
        print(f"[INFO] rebuilding the index: {why}")
    # the search's own figures are never indexed, even when --output lies in the gallery
    (index, counts) = refresh_index(old, args.gallery, file_embedder(model, load, args.gallery),
                                    header, exclude=[args.output] if args.output else [])
    if len(index) < 2:
        raise ValueError(f"the gallery {args.gallery} needs at least two usable images, "
                         f"found {len(index)}")
    unchanged = old is not None and counts[0] == counts[2] == 0
    if unchanged and "open_set" in old.header:
        index.header["open_set"] = old.header["open_set"]
    else:
        # the calibration changes only with the gallery: computed once, kept in the index
        index.header["open_set"] = calibrate_gallery(index.embeddings, index.labels)
        save_index(index, path)
    print(f"[INFO] index {path}: embedded {counts[0]:,}, kept {counts[1]:,}, dropped "
          f"{counts[2]:,}; {len(index):,} images of {len(np.unique(index.labels)):,} "
          f"classes")
    return index, counts


def open_set_threshold(args, index):
    """(threshold, how it was chosen): --threshold, or calibrated on the gallery (on at most
    2,000 of its images, seeded: the same gallery gives the same threshold)."""
    from pyimagesearch.search import REJECT_UNKNOWN

    if args.threshold is not None:
        return args.threshold, "--threshold"
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


def search_gallery(args, model, load, index, names, queries):
    """For each query: its top gallery images (path, label, distance, score, verdict) and the
    answer (a class, or None for unknown)."""
    from pyimagesearch.evaluation import verdict_of
    from pyimagesearch.search import choose_index, search

    kind = choose_index(args.index, len(index))
    if args.top > len(index):
        print(f"[INFO] --top {args.top} is more than the gallery's {len(index)} images: "
              f"showing all {len(index)}")
    embeddings = model.embed(np.stack(queries).reshape(-1, *model.input_shape))
    (distances, rows) = search(kind, index.embeddings, embeddings, args.top)
    (threshold, how) = open_set_threshold(args, index)
    print(f"[INFO] {kind} search; a query is unknown from distance {threshold:.4f} ({how})")
    (_, neighbourImages) = load([os.path.join(args.gallery, index.paths[r])
                                 for r in rows.reshape(-1)], None)
    stacked = np.stack([*queries, *neighbourImages]).reshape(-1, *model.input_shape)
    top = rows.shape[1]
    pairs = np.array([(q, len(queries) + q * top + j) for q in range(len(queries))
                      for j in range(top)])
    scores = model.score_pairs(stacked, pairs).reshape(len(queries), top)
    (scoreKind, pairThreshold) = (model.metadata["score"], model.metadata["threshold"])
    results = []
    for (q, name) in enumerate(names):
        neighbours = [{"path": str(index.paths[r]), "label": str(index.labels[r]),
                       "distance": float(d), "score": float(s),
                       "verdict": verdict_of(s, scoreKind, pairThreshold)}
                      for (r, d, s) in zip(rows[q], distances[q], scores[q])]
        known = distances[q, 0] < threshold
        results.append({"query": name, "answer": neighbours[0]["label"] if known else None,
                        "neighbours": neighbours, "images": (queries[q], neighbourImages[
                            q * top:(q + 1) * top])})
    return results


def report(args, plt, results, counts, scoreKind):
    """Print the neighbours and the answer of each query, draw (or save) its figure, and write
    the JSON."""
    from pyimagesearch.plotting import Figures, query_figure, search_montage

    figures = Figures(plt, args.output, "query")
    for (i, result) in enumerate(results):
        print(f"[RESULT] query #{i + 1}: {result['query']}")
        for (j, n) in enumerate(result["neighbours"]):
            print(f"[RESULT]   {j + 1}. {n['path']} ({n['label']}) - distance "
                  f"{n['distance']:.4f} - {scoreKind}: {n['score']:.2f} - {n['verdict']}")
        print(f"[RESULT]   answer: {result['answer'] or 'unknown'}")
        if figures.wants_more():
            figures.add(query_figure(plt, *result["images"], result, f"Query #{i + 1}",
                                     scoreKind))
    figures.finish(lambda: search_montage(plt, results, scoreKind), total=len(results))
    if args.json:
        records = [{key: value for (key, value) in result.items() if key != "images"}
                   for result in results]
        with open(args.json, "w") as f:
            # the gallery named, as the neighbours' paths are relative to it
            json.dump({"gallery": os.path.abspath(args.gallery), "queries": records,
                       "index": dict(zip(("embedded", "kept", "dropped"), counts))}, f,
                      indent=2)
        print(f"[INFO] wrote {args.json}")


if __name__ == "__main__":
    run(main)
