"""Measure training from class folders against the same images in memory, and memory at scale.

    python -m benchmarks.benchmark_folders                      # MNIST-style data, 1 epoch
    python -m benchmarks.benchmark_folders --dataset /usr/share/datasets/fashion-mnist \\
        --sizes 10000,60000

The first --sizes training images (and all test images) are written as class folders
(tools/write_class_folders.py, PNG) and as a .npz; train_siamese_network.py then trains on
each in its own process with the same seed: from the arrays held in memory (the largest size
only), and from the folders at every size, decoded from disk batch by batch. Reported per run:
training throughput in pairs per second (training steps only), the process's peak resident
memory, and the validation accuracy; then folders against memory, and the peak memory of the
largest folder run against the smallest (it should stay nearly flat: training holds paths,
not images).
"""
import argparse
import csv
import os
import tempfile

import numpy as np

from benchmarks.common import (
    ROOT,
    SHARED_MNIST,
    add_record_argument,
    describe_cpu,
    run_child,
    write_record,
)
from pyimagesearch.cli import run
from pyimagesearch.models.recipes import ARCHITECTURES, output_paths


def train(dataset, workdir, name, epochs, seed, architecture):
    """Train once in a child process: (seconds of training steps, peak RSS in MB, val
    accuracy after the last epoch)."""
    output = os.path.join(workdir, name)
    rss = run_child([os.path.join(ROOT, "train_siamese_network.py"), "--dataset", dataset,
                     "--output", output, "--epochs", str(epochs), "--seed", str(seed),
                     "--architecture", architecture], os.path.join(workdir, f"{name}.out"))
    rows = list(csv.DictReader(open(output_paths(output, architecture=architecture)[2])))
    seconds = sum(float(row["seconds"]) for row in rows)
    return seconds, rss, float(rows[-1]["val_accuracy"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=SHARED_MNIST if os.path.exists(SHARED_MNIST)
                    else "mnist", help="MNIST-style data as for train_siamese_network.py "
                    "(default: ../shared/data/mnist.npz when present, else mnist)")
    ap.add_argument("--sizes", default="10000,60000",
                    help="comma-separated numbers of training images, each written as class "
                         "folders; the largest is also trained from memory (default: "
                         "10000,60000)")
    ap.add_argument("--epochs", type=int, default=1, help="epochs per run (default: 1)")
    ap.add_argument("--seed", type=int, default=42, help="seed of every run (default: 42)")
    ap.add_argument("--architecture", choices=tuple(ARCHITECTURES), default="tutorial",
                    help="sister network of every run (default: tutorial)")
    add_record_argument(ap)
    args = ap.parse_args()
    try:
        sizes = sorted({int(size) for size in args.sizes.split(",")})
    except ValueError:
        ap.error("--sizes must be comma-separated whole numbers")
    if sizes[0] < 20 or args.epochs < 1:
        ap.error("--sizes must be at least 20 images and --epochs at least 1")

    from pyimagesearch.data.datasets import load_dataset

    ((trainX, trainY), (testX, testY)) = load_dataset(args.dataset)
    sizes = [min(size, len(trainX)) for size in sizes]
    print(f"[INFO] {describe_cpu()}")
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        runs = [(f"memory {sizes[-1]}", None, sizes[-1])] + [
            (f"folders {size}", os.path.join(workdir, f"folders_{size}"), size)
            for size in sizes]
        for (name, folders, size) in runs:
            if folders is None:
                dataset = os.path.join(workdir, "memory.npz")
                np.savez(dataset, x_train=trainX[:size], y_train=trainY[:size],
                         x_test=testX, y_test=testY)
            else:
                dataset = folders
                run_child(["-m", "tools.write_class_folders", "--dataset",
                           args.dataset, "--output", folders, "--limit", str(size)],
                          os.path.join(workdir, f"write_{size}.out"))
            (seconds, rss, accuracy) = train(dataset, workdir, name.replace(" ", "_"),
                                                args.epochs, args.seed, args.architecture)
            # the pairs trained on: two per training image (less any validation split)
            split = ARCHITECTURES[args.architecture].validation_split
            speed = 2 * size * (1 - split) * args.epochs / seconds
            results[name] = {"pairs_per_second": speed, "peak_rss_mb": rss,
                             "val_accuracy": accuracy}
            print(f"[RESULT] {name:>16} images: {speed:8.0f} pairs/s, peak RSS {rss:6.0f} MB, "
                  f"val accuracy {accuracy:.4f}", flush=True)
    results["ratios"] = report_ratios(results, sizes)
    write_record(args.json, "benchmarks.benchmark_folders", results)


def report_ratios(results, sizes):
    """Print the largest folders' figures against memory's and the smallest folders'; returns
    them, for the record."""
    (memory, largest, smallest) = (results[f"memory {sizes[-1]}"],
                                   results[f"folders {sizes[-1]}"],
                                   results[f"folders {sizes[0]}"])
    ratios = {"folders_to_memory": {
        "throughput": largest["pairs_per_second"] / memory["pairs_per_second"],
        "peak_rss": largest["peak_rss_mb"] / memory["peak_rss_mb"],
        "val_accuracy": largest["val_accuracy"] - memory["val_accuracy"]}}
    print(f"[RATIO] folders / memory at {sizes[-1]} images: throughput "
          f"{ratios['folders_to_memory']['throughput']:.2f}x, peak RSS "
          f"{ratios['folders_to_memory']['peak_rss']:.2f}x, val accuracy "
          f"{ratios['folders_to_memory']['val_accuracy']:+.4f}")
    if len(sizes) > 1:
        ratios["largest_to_smallest_peak_rss"] = largest["peak_rss_mb"] / smallest["peak_rss_mb"]
        print(f"[RATIO] folders at {sizes[-1]} / {sizes[0]} images: peak RSS "
              f"{ratios['largest_to_smallest_peak_rss']:.2f}x "
              f"({largest['peak_rss_mb'] - smallest['peak_rss_mb']:+.0f} MB)")
    return ratios

if __name__ == "__main__":
    run(main)
