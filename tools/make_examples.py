"""Write examples/image_01.png ... image_13.png: rendered digits, not MNIST.

The labels (EXAMPLE_LABELS) are chosen so that the test script's default draw (seed 42, 10
pairs over the 13 sorted files) holds both same-class and different-class pairs, as in the
tutorial's figures.

    python -m tools.make_examples            # rewrites examples/ exactly as committed
"""
import argparse
import os

import cv2
import numpy as np

from pyimagesearch.data.digits import EXAMPLE_LABELS, render_digit


def main():
    ap = argparse.ArgumentParser(description="Render the 13 example digits into a folder.")
    ap.add_argument("--output", default="examples", help="folder to write (default: examples)")
    ap.add_argument("--seed", type=int, default=7, help="seed of the renderer (default: 7)")
    args = ap.parse_args()
    os.makedirs(args.output, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for (i, label) in enumerate(EXAMPLE_LABELS):
        path = os.path.join(args.output, f"image_{i + 1:02d}.png")
        cv2.imwrite(path, render_digit(label, rng))
        print(f"[INFO] wrote {path} (a {label})")


if __name__ == "__main__":
    main()
