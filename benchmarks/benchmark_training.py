"""Measure training speed, peak memory and accuracy: the tutorial's way against ours.

    python -m benchmarks.benchmark_training                       # full MNIST, 1 epoch
    python -m benchmarks.benchmark_training --pairs 20000 --epochs 2
    python -m benchmarks.benchmark_training --from-log output/training_log.csv --target 0.8810
    python -m benchmarks.benchmark_training --architecture small_vgg --variants mixed_bfloat16 \
        --epochs 12 --target 0.99

Each variant trains in its own process on the same pairs (same seed): "baseline" is
benchmarks/tutorial_baseline.py (float64 pair arrays, model.fit on numpy), the others are
train_siamese_network.py at each --precision; a variant named PRECISION+resample trains with
--resample-pairs (fresh pairs every epoch), PRECISION+in_batch or PRECISION+drawn with that
--pairs (every pair of each batch, or the tutorial's drawn pairs). Reported per variant:
training throughput in pairs per second (training steps only, validation excluded; an
in_batch epoch counts as the two drawn pairs each of its images anchors), the process's peak
resident memory, and the validation accuracy after the last epoch; then each variant's
ratios to the baseline. --architecture trains another sister network than the tutorial's in
every variant but the baseline (small_vgg holds out 10% of the training images as its
validation pairs, so its target is measured on those). The cores a variant kept busy (its
CPU time over its training time) show whether a shared machine took CPU away from it: a
ratio measured then is not a fair one.
"""
import argparse
import csv
import os
import tempfile

import numpy as np

from benchmarks.common import (
    ROOT,
    add_data_arguments,
    add_record_argument,
    describe_cpu,
    load_training_subset,
    run_child,
    write_record,
)
from pyimagesearch.models.recipes import ARCHITECTURES, output_paths


def time_to_target(rows, target):
    """(first epoch whose val_accuracy reaches target, training seconds up to it) or None."""
    elapsed = 0.0
    for (epoch, row) in enumerate(rows, start=1):
        elapsed += float(row["seconds"])
        if float(row["val_accuracy"]) >= target:
            return epoch, elapsed
    return None


def describe_target(rows, target):
    reached = time_to_target(rows, target)
    if reached is None:
        return f"val accuracy {target:.4f} not reached in {len(rows)} epoch(s)"
    return (f"val accuracy {target:.4f} first reached at epoch {reached[0]}, after "
            f"{reached[1]:.0f} s of training ({reached[1] / 60:.1f} min)")


# what a variant's +OPTION adds to the training script's command line
OPTIONS = {"": [], "resample": ["--resample-pairs"], "in_batch": ["--pairs", "in_batch"],
           "drawn": ["--pairs", "drawn"]}


def parse_variant(variant):
    """(precision, extra flags) of a variant named PRECISION or PRECISION+OPTION."""
    from pyimagesearch.config import PRECISIONS

    (precision, plus, option) = variant.partition("+")
    if precision not in PRECISIONS or option not in OPTIONS or (plus and not option):
        raise ValueError(f"unknown variant {variant!r}: expected baseline, PRECISION or "
                         f"PRECISION+OPTION with PRECISION one of {', '.join(PRECISIONS)} "
                         f"and OPTION one of {', '.join(filter(None, OPTIONS))}")
    return precision, OPTIONS[option]


def run_variant(variant, dataset, epochs, seed, workdir, architecture="tutorial"):
    """Train one variant in a child process; returns (log rows, peak RSS in MB)."""
    log = os.path.join(workdir, f"{variant}.csv")
    if variant == "baseline":
        command = ["-m", "benchmarks.tutorial_baseline", "--log", log]
    else:
        (precision, flags) = parse_variant(variant)
        output = os.path.join(workdir, variant)
        command = [os.path.join(ROOT, "train_siamese_network.py"), "--output", output,
                   "--precision", precision, "--architecture", architecture, *flags]
        log = output_paths(output, architecture=architecture)[2]
    rss = run_child([*command, "--dataset", dataset, "--epochs", str(epochs), "--seed",
                     str(seed)], os.path.join(workdir, f"{variant}.out"))
    return list(csv.DictReader(open(log))), rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(ap, pairs=120000)
    ap.add_argument("--epochs", type=int, default=1, help="epochs per variant (default: 1)")
    ap.add_argument("--seed", type=int, default=42, help="seed of every variant (default: 42)")
    ap.add_argument("--variants", default="baseline,float32,mixed_bfloat16",
                    help="comma-separated: baseline and/or precisions, each optionally with "
                         "+resample, +in_batch or +drawn (e.g. float32+in_batch) (default: "
                         "the three, each with its recipe's pairs)")
    ap.add_argument("--architecture", choices=tuple(ARCHITECTURES), default="tutorial",
                    help="sister network of every variant but the baseline (default: "
                         "tutorial)")
    ap.add_argument("--target", type=float, default=0.8810,
                    help="validation accuracy whose time to reach is reported (default: "
                         "0.8810, the tutorial's after 100 epochs)")
    ap.add_argument("--from-log", default=None,
                    help="instead of training, read a training_log.csv and report the time "
                         "to --target")
    add_record_argument(ap)
    args = ap.parse_args()
    variants = args.variants.split(",")
    for variant in variants:
        if variant != "baseline":
            try:
                parse_variant(variant)
            except ValueError as e:
                ap.error(str(e))

    if args.from_log:
        print(f"[RESULT] {args.from_log}: "
              f"{describe_target(list(csv.DictReader(open(args.from_log))), args.target)}")
        return

    ((trainX, trainY), (testX, testY)) = load_training_subset(args)
    count = len(trainX)
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        subset = os.path.join(workdir, "subset.npz")
        np.savez(subset, x_train=trainX, y_train=trainY, x_test=testX,
                 y_test=testY)
        split = ARCHITECTURES[args.architecture].validation_split
        print(f"[INFO] {describe_cpu()}")
        print(f"[INFO] {2 * count} training pairs, {2 * len(testX)} validation pairs, "
              f"{args.epochs} epoch(s), seed {args.seed}" + (
                  "" if not split else
                  f"; {args.architecture} holds out {split:.0%} of the training "
                  f"images and validates on their pairs"))
        for variant in variants:
            (rows, rss) = run_variant(variant, subset, args.epochs, args.seed, workdir,
                                      args.architecture)
            seconds = [float(row["seconds"]) for row in rows]
            cores = sum(float(row["cores"]) * s for (row, s) in zip(rows, seconds)) / sum(seconds)
            accuracy = float(rows[-1]["val_accuracy"])
            # the pairs trained on: without the held-out images where there are some
            trained = 2 * count * (1 - (split if variant != "baseline" else 0))
            results[variant] = {"pairs_per_second": trained * len(seconds) / sum(seconds),
                                "peak_rss_mb": rss, "val_accuracy": accuracy, "cores": cores,
                                "epoch_seconds": seconds}
            print(f"[RESULT] {variant:>15}: {results[variant]['pairs_per_second']:8.0f} "
                  f"pairs/s, peak RSS {rss:7.0f} MB, val accuracy {accuracy:.4f}, epoch times "
                  f"{', '.join(f'{s:.1f}s' for s in seconds)} on {cores:.1f} of "
                  f"{os.cpu_count()} cores; {describe_target(rows, args.target)}", flush=True)
    if "baseline" in results:
        report_ratios(results)
    write_record(args.json, "benchmarks.benchmark_training", results)


def report_ratios(results):
    """Print each variant's figures against the baseline's, and add them to its results."""
    baseline = results["baseline"]
    for (variant, figures) in results.items():
        if variant == "baseline":
            continue
        figures["to_baseline"] = {
            "throughput": figures["pairs_per_second"] / baseline["pairs_per_second"],
            "peak_rss": figures["peak_rss_mb"] / baseline["peak_rss_mb"],
            "val_accuracy": figures["val_accuracy"] - baseline["val_accuracy"]}
        ratios = figures["to_baseline"]
        print(f"[RATIO] {variant:>15} / baseline: throughput {ratios['throughput']:.2f}x, "
              f"peak RSS {ratios['peak_rss']:.2f}x, val accuracy "
              f"{ratios['val_accuracy']:+.4f}")


if __name__ == "__main__":
    main()
