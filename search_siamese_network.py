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

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run
from pyimagesearch.data.model_inputs import face_model, input_loader, resolve_prepare
from pyimagesearch.models.model_io import check_model_path, read_metadata
from pyimagesearch.search.index import INDEX_KINDS, check_index_kind


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
    from pyimagesearch.data.images import list_image_paths

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
    from pyimagesearch.models.model_io import SiameseModel
    from pyimagesearch.plotting import pyplot

    plt = pyplot(show=not args.output)
    print("[INFO] loading siamese model...")
    model = SiameseModel(args.model)
    model.check_embed()
    load = input_loader(metadata, prepare)
    print("[INFO] indexing gallery...")
    (index, counts) = index_gallery(args, model, load, prepare)
    print("[INFO] searching gallery...")
    photos = None
    if face_model(metadata):
        # every face of each photo, each answered on its own
        from pyimagesearch.search.face_search import largest_faces, photo_faces

        (queryPaths, photos) = (paths, photo_faces(paths, metadata))
        queries = largest_faces(photos, model.input_shape)
    else:
        (names, queries) = load(paths, folder)
        # the queries by path (a folder's names are relative to it; files are named as given)
        queryPaths = [os.path.join(folder, name) for name in names] if folder else paths
    results = search_gallery(args, model, load, index, queryPaths, queries, photos)
    report(args, plt, results, counts, model.metadata["score"], load, queries, photos)


def index_gallery(args, model, load, prepare):
    """The gallery's index, brought up to date, with its open-set calibration; returns
    (index, (embedded, kept, dropped))."""
    from pyimagesearch.search.gallery import default_index_path
    from pyimagesearch.search.gallery_search import index_header, open_gallery_index

    path = args.index_file or default_index_path(args.output or config.BASE_OUTPUT,
                                                 args.gallery, args.model)
    # the search's own figures are never indexed, even when --output lies in the gallery
    (index, counts) = open_gallery_index(model, load, args.gallery, path,
                                         index_header(model, args.model, prepare),
                                         exclude=[args.output] if args.output else [])
    return index, counts


def search_gallery(args, model, load, index, names, queries, photos=None):
    """For each query: its top gallery images and the answer (gallery_search.answer_queries);
    for each photo's every face with photos (face_search.answer_faces)."""
    from pyimagesearch.search.face_search import answer_faces
    from pyimagesearch.search.gallery_search import answer_queries, open_set_threshold
    from pyimagesearch.search.index import choose_index

    kind = choose_index(args.index, len(index))
    if args.top > len(index):
        print(f"[INFO] --top {args.top} is more than the gallery's {len(index)} images: "
              f"showing all {len(index)}")
    (threshold, how) = open_set_threshold(args.threshold, index, model.metadata)
    print(f"[INFO] {kind} search; a query is unknown from distance {threshold:.4f} ({how})")
    if photos is not None:
        return answer_faces(model, load, index, args.gallery, names, photos, args.top, kind,
                            threshold)
    return answer_queries(model, load, index, args.gallery, names, queries, args.top, kind,
                          threshold)


def report(args, plt, results, counts, scoreKind, load, queries, photos=None):
    """Print the neighbours and the answer of each query, draw (or save) its figure (the
    neighbours' images loaded for it; each photo's faces boxed with photos), and write the
    JSON."""
    from pyimagesearch.plotting import Figures, faces_figure, query_figure, search_montage

    figures = Figures(plt, args.output, "query")
    for (i, result) in enumerate(results):
        print(f"[RESULT] query #{i + 1}: {result['query']}")
        for (j, n) in enumerate(result["neighbours"]):
            print(f"[RESULT]   {j + 1}. {n['path']} ({n['label']}) - distance "
                  f"{n['distance']:.4f} - {scoreKind}: {n['score']:.2f} - {n['verdict']}")
        for (j, face) in enumerate(result.get("faces", [])):
            print(f"[RESULT]   face {j + 1} at {tuple(face['box'])}: "
                  f"{face['answer'] or 'unknown'}")
        print(f"[RESULT]   answer: {result['answer'] or 'unknown'}")
        if figures.wants_more():
            # none for a photo without a face
            (_, neighbourImages) = load([os.path.join(args.gallery, n["path"])
                                         for n in result["neighbours"]], None, required=False)
            result["images"] = (queries[i], neighbourImages)
            figures.add(faces_figure(plt, photos[i][0], result, f"Query #{i + 1}")
                        if photos else query_figure(plt, *result["images"], result,
                                                    f"Query #{i + 1}", scoreKind))
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
