"""Score random pairs of images with a trained siamese network and show each pair.

USAGE
    python test_siamese_network.py --input examples
    python test_siamese_network.py --input examples --output output/pairs
    python test_siamese_network.py --input my_seven.jpg my_one.jpg
"""
# import the necessary packages
import argparse
import os

import numpy as np

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run
from pyimagesearch.data.model_inputs import (
    digit_model,
    face_model,
    load_input_images,
    resolve_prepare,
)
from pyimagesearch.models.model_io import check_model_path, check_threshold, read_metadata


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Draw random pairs from a folder of images, score each pair with a "
                    "trained siamese model in one batch, print one line per pair and show "
                    "(or save) one figure per pair.")
    ap.add_argument("-i", "--input", required=True, nargs="+", metavar="PATH",
                    help="a folder of images to draw pairs from (searched recursively), or "
                         "two image files to score exactly that pair")
    ap.add_argument("--prepare", action=argparse.BooleanOptionalAction, default=None,
                    help="make each image look like MNIST first: invert dark ink on light "
                         "paper, crop the digit, fit it into 20x20 and centre it in 28x28; "
                         "for grayscale models only (default: on for two files scored by a "
                         "model trained on MNIST-style data, off for a folder and for models "
                         "trained on class folders)")
    ap.add_argument("--pairs", type=int, default=10,
                    help="number of random pairs to score; an image may be paired with "
                         "itself (default: 10)")
    ap.add_argument("--seed", type=int, default=42,
                    help="seed of numpy's generator for the draw (default: 42)")
    ap.add_argument("--model", default=config.MODEL_PATH,
                    help=f"the trained SavedModel directory (default: {config.MODEL_PATH})")
    ap.add_argument("--threshold", type=float, default=None,
                    help="decision threshold: a similarity above it (or, for a contrastive "
                         "model, a distance below it) means 'same' (default: the model's own "
                         "from its metadata.json; 0.5 for the tutorial's model)")
    ap.add_argument("--output", default=None,
                    help="folder to save each pair's figure (pair_01.png, ...) and a montage "
                         "of all pairs (montage.png) instead of showing windows")
    add_verbose_argument(ap)
    args = ap.parse_args(argv)
    if args.pairs < 1:
        ap.error("--pairs must be at least 1")
    return args


def input_paths(inputs):
    """(image paths, folder or None) for --input: one folder, or exactly two image files."""
    from pyimagesearch.data.images import list_image_paths

    if len(inputs) == 1:
        if not os.path.isdir(inputs[0]):
            raise FileNotFoundError(f"--input folder {inputs[0]} does not exist")
        return list_image_paths(inputs[0]), inputs[0]
    if len(inputs) != 2:
        raise ValueError(f"--input takes one folder or two image files, got {len(inputs)} paths")
    for path in inputs:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--input file {path} does not exist")
    return list(inputs), None


def main(argv=None):
    args = parse_args(argv)
    # check the arguments that need no TensorFlow before loading it
    (paths, folder) = input_paths(args.input)
    check_model_path(args.model)
    metadata = read_metadata(args.model)
    if args.threshold is not None:
        check_threshold(args.threshold, metadata["score"])
    # digit preparation is for two files scored by a model of MNIST-style digits
    prepare = resolve_prepare(args.prepare, metadata, args.model,
                              folder is None and digit_model(metadata))

    quiet_tensorflow(args.verbose)
    from pyimagesearch.models.model_io import SiameseModel
    from pyimagesearch.plotting import Figures, montage_figure, pyplot

    plt = pyplot(show=not args.output)

    # grab the test dataset image paths and load every image, at the model's input size and
    # colour mode
    print("[INFO] loading test dataset...")
    size = tuple(metadata["input_shape"][:2])
    (names, images) = load_input_images(paths, folder, size, prepare, metadata["color_mode"],
                                        faces=face_model(metadata))

    # load the model from disk
    print("[INFO] loading siamese model...")
    model = SiameseModel(args.model)
    threshold = model.metadata["threshold"] if args.threshold is None else args.threshold

    if folder is None:
        # two files: exactly that pair
        pairs = np.array([[0, 1]])
    else:
        # randomly generate pairs of images (with replacement: an image may meet itself);
        # never more than there are ordered pairs of them
        count = min(args.pairs, len(images) ** 2)
        if count < args.pairs:
            print(f"[INFO] --pairs {args.pairs:,} is more than the {count:,} pairs of "
                  f"{len(images)} images: drawing {count:,}")
        np.random.seed(args.seed)
        pairs = np.random.choice(len(images), size=(count, 2))

    # score every pair in one batched call: the batch is the first axis, and grayscale
    # images get their channel axis
    stacked = np.stack(images).reshape(-1, *model.input_shape)
    scores = model.score_pairs(stacked, pairs)
    figures = Figures(plt, args.output, "pair")
    results = report_pairs(plt, figures, names, images, pairs, scores,
                           model.metadata["score"], threshold)
    figures.finish(lambda: montage_figure(plt, results), total=len(results))


def report_pairs(plt, figures, names, images, pairs, scores, scoreKind, threshold):
    """Print one line per pair and draw its figure into figures; returns the (imageA,
    imageB, title, verdict) of every pair."""
    from pyimagesearch.plotting import pair_figure
    from pyimagesearch.search.evaluation import verdict_of

    results = []
    for (i, ((a, b), score)) in enumerate(zip(pairs, scores)):
        verdict = verdict_of(score, scoreKind, threshold)
        title = f"{scoreKind.capitalize()}: {score:.2f}"
        print(f"[RESULT] pair #{i + 1}: {names[a]} vs {names[b]} - {title.lower()} "
              f"- {verdict}")
        results.append((images[a], images[b], title, verdict))
        if figures.wants_more():
            figures.add(pair_figure(plt, images[a], images[b], title, f"Pair #{i + 1}"))
    return results


if __name__ == "__main__":
    run(main)
