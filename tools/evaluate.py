"""Measure a trained model on a dataset's test pairs (MNIST by default) and on rendered digits.

    python -m tools.evaluate --dataset ../shared/data/mnist.npz
    python -m tools.evaluate --model output/contrastive_siamese_model --dataset mnist.npz --record

MNIST's 10,000 test images give 20,000 pairs (one same-class and one different-class pair per
image, drawn with --seed); the rendered digits come from pyimagesearch/digits.py, the generator
of examples/, so they show how the model does on digits from outside MNIST.
"""
import argparse
import os

import numpy as np

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run


def main():
    ap = argparse.ArgumentParser(description="Measure a trained siamese model on MNIST's test "
                                             "pairs and on rendered digits.")
    ap.add_argument("--model", default=config.MODEL_PATH,
                    help=f"SavedModel directory (default: {config.MODEL_PATH})")
    ap.add_argument("--dataset", default="mnist",
                    help="as for train_siamese_network.py: mnist, a .npz, an IDX folder, or "
                         "class folders with a test/ folder (read at the model's size and "
                         "colour mode) (default: mnist)")
    ap.add_argument("--digits", type=int, default=500,
                    help="rendered digits to pair, two pairs each; 0 skips them (for a "
                         "dataset that is not digits) (default: 500)")
    ap.add_argument("--threshold", type=float, default=None,
                    help="decision threshold (default: the model's own)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the pairs (default: 0)")
    ap.add_argument("--record", action="store_true",
                    help="also store the figures in the model's metadata.json")
    add_verbose_argument(ap)
    args = ap.parse_args()
    if args.digits < 0 or args.digits == 1:
        ap.error("--digits must be 0 or at least 2")

    quiet_tensorflow(args.verbose)
    from pyimagesearch.digits import make_digits
    from pyimagesearch.evaluation import describe, evaluate_pairs, summary
    from pyimagesearch.image_folders import load_test_dataset
    from pyimagesearch.model_io import SiameseModel, check_threshold, update_metadata
    from pyimagesearch.pairs import make_pair_indices

    model = SiameseModel(args.model)
    scoreKind = model.metadata["score"]
    threshold = model.metadata["threshold"] if args.threshold is None else args.threshold
    check_threshold(threshold, scoreKind)
    results = {}
    (testX, testY) = load_test_dataset(args.dataset, model.input_shape)
    sets = [("test pairs", "mnist_test_pairs", testX, testY)]
    if args.digits and model.input_shape != (28, 28, 1):
        print("[INFO] no rendered digits: they are 28x28 grayscale, the model is not")
    elif args.digits:
        sets.append(("rendered digit pairs", "rendered_digits",
                     *make_digits(args.digits, seed=args.seed + 1)))
    for (name, key, images, labels) in sets:
        (pairIdx, pairLabels) = make_pair_indices(labels, np.random.default_rng(args.seed))
        scores = model.score_pairs(images, pairIdx)
        evaluation = evaluate_pairs(scores, pairLabels, scoreKind, threshold)
        print(f"[INFO] {name} ({evaluation['pairs']}): {describe(evaluation)}")
        results[key] = summary(evaluation)
    if args.record:
        update_metadata(args.model, results)
        print(f"[INFO] recorded in {os.path.join(args.model, 'metadata.json')}")


if __name__ == "__main__":
    run(main)
