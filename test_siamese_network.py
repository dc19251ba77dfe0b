"""Score random pairs of images with a trained siamese network and show each pair.

USAGE
    python test_siamese_network.py --input examples
    python test_siamese_network.py --input examples --output output/pairs
    python test_siamese_network.py --input my_seven.jpg my_one.jpg
"""
# import the necessary packages
import argparse
import os
import re
from collections import Counter

import numpy as np

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run
from pyimagesearch.model_io import check_model_path, check_threshold, read_metadata


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
    from pyimagesearch.images import list_image_paths

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


def load_test_images(paths, folder, size, prepare, colorMode="grayscale"):
    """Load the images at the model's size and colour mode; in a folder unreadable files are
    skipped with a warning."""
    from pyimagesearch.images import load_image

    names, images, noted = [], [], []
    for path in paths:
        try:
            (image, notes) = load_image(path, size, prepare, colorMode)
        except ValueError as e:
            if folder is None:
                raise
            print(f"[WARNING] skipping {e}")
            continue
        name = os.path.relpath(path, folder) if folder else os.path.basename(path)
        if notes:
            noted.append((name, notes))
        names.append(name)
        images.append(image)
    if not images:
        raise ValueError(f"no usable images in {folder}")
    report_conversions(noted)
    return names, images


def report_conversions(noted, named=10):
    """Say what was done to each image; past `named` images, one line that counts each kind
    of conversion (a folder of photos for a colour model would otherwise print one per file)."""
    if len(noted) <= named:
        for (name, notes) in noted:
            print(f"[INFO] {name}: {', '.join(notes)}")
        return
    kinds = Counter(re.sub(r"from \d+x\d+ ", "", note) for (_, notes) in noted
                    for note in notes)
    print(f"[INFO] {len(noted)} images converted: "
          + ", ".join(f"{kind} ({count})" for (kind, count) in kinds.items()))


def pair_figure(plt, imageA, imageB, title, window):
    # initialize the figure
    fig = plt.figure(window, figsize=(4, 2))
    plt.suptitle(title)

    # show the first image, then the second one
    for (i, image) in enumerate((imageA, imageB)):
        ax = fig.add_subplot(1, 2, i + 1)
        plt.imshow(image, cmap=plt.cm.gray)
        ax.axis("off")
    return fig


def montage_figure(plt, results):
    columns = min(5, len(results))
    rows = -(-len(results) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 1.7 * rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (imageA, imageB, title, verdict) in zip(axes.ravel(), results):
        # a white column between the two images (colour images stay in colour)
        gap = np.ones_like(imageA[:, :1])
        ax.imshow(np.hstack([imageA, gap, imageB]), cmap=plt.cm.gray, vmin=0, vmax=1)
        ax.set_title(f"{title}\n{verdict}", fontsize=9)
    fig.tight_layout()
    return fig


def main(argv=None):
    args = parse_args(argv)
    # check the arguments that need no TensorFlow before loading it
    (paths, folder) = input_paths(args.input)
    check_model_path(args.model)
    metadata = read_metadata(args.model)
    if args.threshold is not None:
        check_threshold(args.threshold, metadata["score"])
    colorMode = metadata["color_mode"]
    # digit preparation is for models of MNIST-style digits, not for a class-folder model
    digitModel = colorMode == "grayscale" and not metadata.get("class_names")
    prepare = (folder is None and digitModel) if args.prepare is None else args.prepare
    if prepare and colorMode != "grayscale":
        raise ValueError(f"--prepare makes MNIST-style digits and applies to grayscale models "
                         f"only; {args.model} takes {colorMode} images")

    quiet_tensorflow(args.verbose)
    import matplotlib
    if args.output:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends import backend_registry
    from matplotlib.backends.registry import BackendFilter

    from pyimagesearch.evaluation import is_same
    from pyimagesearch.model_io import SiameseModel

    # grab the test dataset image paths and load every image, at the model's input size and
    # colour mode
    print("[INFO] loading test dataset...")
    size = tuple(metadata["input_shape"][:2])
    (names, images) = load_test_images(paths, folder, size, prepare, colorMode)

    # load the model from disk
    print("[INFO] loading siamese model...")
    model = SiameseModel(args.model)
    scoreKind = model.metadata["score"]
    threshold = model.metadata["threshold"] if args.threshold is None else args.threshold

    if folder is None:
        # two files: exactly that pair
        pairs = np.array([[0, 1]])
    else:
        # randomly generate pairs of images (with replacement: an image may meet itself)
        np.random.seed(args.seed)
        pairs = np.random.choice(len(images), size=(args.pairs, 2))

    # score every pair in one batched call: the batch is the first axis, and grayscale
    # images get their channel axis
    imagesA = np.stack([images[a] for (a, _) in pairs]).reshape(-1, *model.input_shape)
    imagesB = np.stack([images[b] for (_, b) in pairs]).reshape(-1, *model.input_shape)
    scores = model.predict(imagesA, imagesB)

    if args.output:
        os.makedirs(args.output, exist_ok=True)
    results = []
    for (i, ((a, b), score)) in enumerate(zip(pairs, scores)):
        verdict = "same" if is_same(score, scoreKind, threshold) else "different"
        title = f"{scoreKind.capitalize()}: {score:.2f}"
        print(f"[RESULT] pair #{i + 1}: {names[a]} vs {names[b]} - {title.lower()} "
              f"- {verdict}")
        results.append((images[a], images[b], title, verdict))
        fig = pair_figure(plt, images[a], images[b], title, f"Pair #{i + 1}")
        if args.output:
            fig.savefig(os.path.join(args.output, f"pair_{i + 1:02d}.png"))
            plt.close(fig)

    if args.output:
        fig = montage_figure(plt, results)
        fig.savefig(os.path.join(args.output, "montage.png"))
        print(f"[INFO] saved {len(results)} pair figure(s) and montage.png to {args.output}")
    elif matplotlib.get_backend().lower() in backend_registry.list_builtin(
            BackendFilter.NON_INTERACTIVE):
        print("[INFO] no display to show the figures on; pass --output DIR to save them")
    else:
        # show the plots
        plt.show()


if __name__ == "__main__":
    run(main)
