"""Where a training step's time goes: its fixed cost against the work per pair.

    python -m benchmarks.benchmark_steps                       # both architectures
    ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.benchmark_steps --precision float32

For each architecture (with its recipe's augmentation) and each batch size, the training
script's pair view (steps whose pairs share their images, about one sister pass a pair; the
tutorial's loss, Adam, several steps per call) trains on MNIST pairs for about --pairs pairs
per round, the batch sizes interleaved over --rounds rounds so that a slow spell of a shared
machine hits all of them alike. Reported per batch size: the median milliseconds per step and
pairs per CPU-second; then a line through the milliseconds per step of the two smallest batch
sizes (larger ones can cost more per pair, once a step's activations outgrow the CPU's caches):
its intercept is what every step costs whatever its size (Python, Keras's and TensorFlow's
dispatch, the optimizer's update of every weight), its slope the arithmetic per pair. A large
intercept calls for bigger or fewer calls; a large slope for cheaper arithmetic.
"""
import argparse
import time

import numpy as np

from benchmarks.common import (
    add_data_arguments,
    add_record_argument,
    describe_cpu,
    load_training_subset,
    write_record,
)
from pyimagesearch import config
from pyimagesearch.models.recipes import ARCHITECTURES


def build_trainer(architecture, steps):
    """The training script's pair view of architecture, compiled as it compiles it."""
    import keras

    from pyimagesearch.data.augmentation import build_augmentation
    from pyimagesearch.models.views import build_shared_image_model
    from pyimagesearch.siamese_network import build_pair_model

    keras.utils.set_random_seed(0)
    model = build_pair_model(config.IMG_SHAPE, architecture=architecture)
    augmentation = (build_augmentation(config.IMG_SHAPE, 0)
                    if ARCHITECTURES[architecture].augment else None)
    trainer = build_shared_image_model(model, augmentation)
    trainer.compile(loss="binary_crossentropy", optimizer="adam", steps_per_execution=steps)
    return trainer


def describe_fixed_cost(sizes, milliseconds):
    """The line through the two smallest batch sizes (larger ones can cost more per pair once
    a step's activations outgrow the caches): its intercept is the fixed cost of a step."""
    if len(sizes) < 2:
        return "one batch size: no line to draw"
    ((s1, t1), (s2, t2)) = sorted(zip(sizes, milliseconds))[:2]
    perPair = (t2 - t1) / (s2 - s1)
    if perPair <= 0:
        return ("the larger batch took no longer than the smaller: no line (too short a run, "
                "or a disturbed machine)")
    fixed = t1 - s1 * perPair
    if fixed <= 0:
        return (f"{perPair:.3f} ms per pair and no fixed cost per step that shows "
                f"(intercept {fixed:.2f} ms): the step's time is its arithmetic")
    return (f"{fixed:.2f} ms per step whatever its size, {perPair:.3f} ms per pair: at "
            f"{config.BATCH_SIZE} pairs a step the fixed cost is "
            f"{fixed / (fixed + perPair * config.BATCH_SIZE):.0%} of the step")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(ap, pairs=16384)
    ap.add_argument("--architectures", default=",".join(ARCHITECTURES),
                    help=f"comma-separated (default: {','.join(ARCHITECTURES)})")
    ap.add_argument("--batch-sizes", default="32,64,128,256,512",
                    help="pairs per step, comma-separated (default: 32,64,128,256,512)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    ap.add_argument("--precision", choices=config.PRECISIONS, default=None,
                    help="the compute precision (default: as train_siamese_network.py)")
    add_record_argument(ap)
    args = ap.parse_args()
    try:
        sizes = [int(size) for size in args.batch_sizes.split(",")]
    except ValueError:
        ap.error("--batch-sizes must be comma-separated whole numbers")
    architectures = args.architectures.split(",")
    if min(sizes) < 2 or min(sizes) % 2 or args.rounds < 1 or args.pairs < max(sizes):
        ap.error("--batch-sizes must be even and at least 2, --rounds at least 1, and "
                 "--pairs at least the largest batch size")
    if not set(architectures) <= set(ARCHITECTURES):
        ap.error(f"--architectures must name some of {', '.join(ARCHITECTURES)}")

    import keras

    from pyimagesearch.data.pairs import make_pair_indices
    from pyimagesearch.data.samplers import shared_image_dataset
    from pyimagesearch.training.callbacks import default_precision

    precision = args.precision or default_precision()
    keras.mixed_precision.set_global_policy(precision)
    ((trainX, trainY), _) = load_training_subset(args)
    (pairIdx, pairLabels) = make_pair_indices(trainY, rng=0)
    print(f"[INFO] {describe_cpu()}")
    print(f"[INFO] {args.pairs} pairs per round, {args.rounds} round(s), {precision}")
    results = {}
    for architecture in architectures:
        runs = []
        for size in sizes:
            steps = max(1, min(config.STEPS_PER_EXECUTION, args.pairs // size))
            count = max(steps, args.pairs // size // steps * steps)
            data = shared_image_dataset(trainX, pairIdx, pairLabels, size, seed=0).repeat()
            trainer = build_trainer(architecture, steps)
            trainer.fit(data, steps_per_epoch=2 * steps, verbose=0)  # trace before timing
            runs.append((size, count, trainer, data))
        times = {size: [] for size in sizes}
        for _ in range(args.rounds):
            for (size, count, trainer, data) in runs:
                (start, cpuStart) = (time.perf_counter(), time.process_time())
                trainer.fit(data, steps_per_epoch=count, verbose=0)
                (wall, cpu) = (time.perf_counter() - start, time.process_time() - cpuStart)
                times[size].append((1000 * wall / count, size * count / cpu))
        results[architecture] = report(architecture, sizes, times)
    write_record(args.json, "benchmarks.benchmark_steps", results)


def report(architecture, sizes, times):
    """Print an architecture's time per step at each size and its fixed cost; returns them
    by size, for the record."""
    milliseconds = [float(np.median([ms for (ms, _) in times[size]])) for size in sizes]
    figures = {}
    for (size, ms) in zip(sizes, milliseconds):
        perCpu = float(np.median([p for (_, p) in times[size]]))
        print(f"[RESULT] {architecture}, {size:4d} pairs a step: {ms:7.1f} ms per step, "
              f"{1000 * size / ms:6.0f} pairs/s, {perCpu:6.0f} pairs per CPU-second")
        figures[str(size)] = {"ms_per_step": ms, "pairs_per_second": 1000 * size / ms,
                              "pairs_per_cpu_second": perCpu}
    figures["fixed_cost"] = describe_fixed_cost(sizes, milliseconds)
    print(f"[RESULT] {architecture}: {figures['fixed_cost']}")
    return figures


if __name__ == "__main__":
    main()
