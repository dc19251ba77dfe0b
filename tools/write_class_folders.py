"""Write an MNIST-style dataset (MNIST, Fashion-MNIST: a .npz or IDX files) as class folders.

    python -m tools.write_class_folders --dataset /usr/share/datasets/fashion-mnist \\
        --class-names fashion --output fashion_folders

gives fashion_folders/train/<class>/00000.png ... and fashion_folders/test/<class>/...: the
layout train_siamese_network.py --dataset reads, with the same images, so training from the
folders can be compared with training from the arrays. Files are numbered by their index in
the dataset, so within a class the folders keep the dataset's order. Never commit the output.
"""
import argparse
import os

import cv2

from pyimagesearch.cli import run

# Fashion-MNIST's classes by label (its README), spelled as folder names ("/" cannot be)
FASHION_CLASSES = ("T-shirt top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")


def class_names(spec, count):
    """The folder names of labels 0 to count - 1: the labels themselves for "labels",
    Fashion-MNIST's names for "fashion", or a comma-separated list in label order."""
    if spec == "labels":
        return [str(label) for label in range(count)]
    names = list(FASHION_CLASSES) if spec == "fashion" else [n.strip() for n in spec.split(",")]
    if len(names) < count or len(set(names)) != len(names) or not all(names):
        raise ValueError(f"--class-names must give {count} different, non-empty names, got "
                         f"{len(names)}")
    if any(os.sep in name or name in (".", "..") for name in names):
        raise ValueError("--class-names must be usable as folder names")
    return names[:count]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True,
                    help="as for train_siamese_network.py: mnist, a .npz or an IDX folder")
    ap.add_argument("--output", required=True,
                    help="folder to create; it must not exist yet or be empty")
    ap.add_argument("--class-names", default="labels",
                    help="folder names of the classes: labels (0, 1, ...), fashion "
                         "(Fashion-MNIST's, with spaces), or a comma-separated list in label "
                         "order (default: labels)")
    ap.add_argument("--format", choices=("png", "jpg", "bmp", "tiff"), default="png",
                    help="image file format (default: png, lossless)")
    ap.add_argument("--limit", type=int, default=None,
                    help="write only the first N training images (all test images are "
                         "written) (default: all)")
    args = ap.parse_args()
    if args.limit is not None and args.limit < 2:
        ap.error("--limit must be at least 2")
    if os.path.isdir(args.output) and os.listdir(args.output):
        raise ValueError(f"{args.output} is not empty; choose a new --output folder")

    from pyimagesearch.data.datasets import load_dataset

    ((trainX, trainY), (testX, testY)) = load_dataset(args.dataset)
    names = class_names(args.class_names, int(max(trainY.max(), testY.max())) + 1)
    for (split, images, labels) in (("train", trainX[:args.limit], trainY[:args.limit]),
                                    ("test", testX, testY)):
        for name in names:
            os.makedirs(os.path.join(args.output, split, name), exist_ok=True)
        for (i, (image, label)) in enumerate(zip(images, labels)):
            path = os.path.join(args.output, split, names[label], f"{i:05d}.{args.format}")
            if not cv2.imwrite(path, image):
                raise OSError(f"could not write {path}")
        print(f"[INFO] wrote {len(images):,} {split} images into {len(names)} class folders "
              f"under {os.path.join(args.output, split)}")


if __name__ == "__main__":
    run(main)
