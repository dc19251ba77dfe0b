"""Draw a montage of image pairs (each marked positive or negative) or of image triplets
(anchor, positive, negative), as part 1 of the series shows its pairs.

    python -m tools.plot_pairs --output docs/pairs.png
    python -m tools.plot_pairs --triplets --output docs/triplets.png
    python -m tools.plot_pairs --dataset path/to/mnist.npz --output mnist_pairs.png

By default the images are rendered digits (pyimagesearch/data/digits.py, not MNIST), drawn the way
make_pairs and make_triplets draw them.
"""
import argparse

import numpy as np

from pyimagesearch.cli import quiet_tensorflow, run


def main():
    ap = argparse.ArgumentParser(description="Draw a montage of image pairs or triplets.")
    ap.add_argument("--output", required=True, help="the PNG to write")
    ap.add_argument("--triplets", action="store_true",
                    help="draw triplets (anchor, positive, negative) instead of pairs")
    ap.add_argument("--dataset", default=None,
                    help="MNIST-style data to draw from, as for train_siamese_network.py "
                         "(default: rendered digits, not MNIST)")
    ap.add_argument("--count", type=int, default=16,
                    help="pairs or triplets to draw (default: 16)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the draw (default: 42)")
    args = ap.parse_args()
    if args.count < 1:
        raise ValueError("--count must be at least 1")

    quiet_tensorflow()  # make_pairs's module imports Keras
    from pyimagesearch.data.digits import make_digits
    from pyimagesearch.plotting import pair_montage, pyplot, save_figure
    from pyimagesearch.utils import make_pairs, make_triplets

    if args.dataset:
        from pyimagesearch.data.datasets import load_dataset
        ((images, labels), _) = load_dataset(args.dataset)
    else:
        (images, labels) = make_digits(200, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    if args.triplets:
        groups = make_triplets(images, labels, rng)[:args.count]
        titles = [("anchor", "positive", "negative")] * len(groups)
    else:
        (groups, pairLabels) = make_pairs(images, labels, rng)
        groups = groups[:args.count]
        titles = [("pos" if label else "neg",) for label in pairLabels[:args.count, 0]]
    save_figure(pair_montage(pyplot(), groups, titles), args.output)
    print(f"[INFO] wrote {len(groups)} {'triplets' if args.triplets else 'pairs'} to "
          f"{args.output}")


if __name__ == "__main__":
    run(main)
