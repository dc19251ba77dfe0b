"""Write a gallery of rendered digits (not MNIST) in class folders, for the search script.

    python -m tools.make_gallery --output gallery                 # digits 0-7, 10 of each
    python -m tools.make_gallery --output gallery --classes 0 1 2 3 4 5 6 7 8 9 --per-class 1

Each digit is drawn by pyimagesearch/data/digits.py, the renderer of examples/, with its own seed,
so the gallery's images differ from the examples; a class folder is named after its digit.
"""
import argparse
import os

import cv2
import numpy as np

from pyimagesearch.cli import run
from pyimagesearch.data.digits import render_digit


def main():
    ap = argparse.ArgumentParser(description="Render digits into class folders (one per digit).")
    ap.add_argument("--output", default="gallery", help="folder to write (default: gallery)")
    ap.add_argument("--classes", type=int, nargs="+", default=list(range(8)), metavar="DIGIT",
                    help="the digits to draw (default: 0 to 7, so that 8s and 9s are unknown)")
    ap.add_argument("--per-class", type=int, default=10,
                    help="images of each digit (default: 10)")
    ap.add_argument("--seed", type=int, default=11, help="seed of the renderer (default: 11)")
    args = ap.parse_args()
    if args.per_class < 1:
        raise ValueError("--per-class must be at least 1")
    if not set(args.classes) <= set(range(10)):
        raise ValueError("--classes takes digits from 0 to 9")
    rng = np.random.default_rng(args.seed)
    for digit in sorted(set(args.classes)):
        folder = os.path.join(args.output, str(digit))
        os.makedirs(folder, exist_ok=True)
        for i in range(args.per_class):
            cv2.imwrite(os.path.join(folder, f"{digit}_{i + 1:03d}.png"), render_digit(digit, rng))
    print(f"[INFO] wrote {args.per_class} image(s) of each of {len(set(args.classes))} digits "
          f"to {args.output}")


if __name__ == "__main__":
    run(main)
