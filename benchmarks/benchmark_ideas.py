"""Measure the training path's speed-ups one at a time, in one process, epochs interleaved.

    python -m benchmarks.benchmark_ideas                  # 40,000 pairs of MNIST, 4 rounds
    python -m benchmarks.benchmark_ideas --pairs 120000 --rounds 3

Each variant is this repository's training setup (uint8 images gathered by tf.data, batches
of 64 pairs) with one idea switched on or off: the cheaper dropout masks of
pyimagesearch.models.layers.Dropout against keras.layers.Dropout, several training steps per call
into TensorFlow against one, each image with its two partners (the anchor view, 3 sister
passes per 2 pairs) against steps whose pairs share their images (about one pass a pair), and
XLA compilation of the training step (Keras's jit_compile) on the anchor view. Every round
trains each variant for one epoch in turn, so that a slow spell of a shared machine hits all
of them alike. The report is each variant's median pairs/s over the rounds and its median
pairs per CPU-second (the work it takes, whatever share of the CPUs it got), each with its
ratio to the first variant, and per round the pairs/s and the cores the process kept busy (its
CPU time over the epoch's time: a round on far fewer cores than the machine has was slowed by
something else). benchmark_training.py measures the whole path against the tutorial's.
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

# (name, fastDropout, steps per execution, XLA, view); the first is the reference of the ratios
STEPS = config.STEPS_PER_EXECUTION
VARIANTS = [("keras dropout, 1 step per call", False, 1, False, "anchor"),
            ("fast dropout, 1 step per call", True, 1, False, "anchor"),
            (f"keras dropout, {STEPS} steps per call", False, STEPS, False, "anchor"),
            (f"fast dropout, {STEPS} steps per call", True, STEPS, False, "anchor"),
            (f"fast dropout, {STEPS} steps per call, XLA", True, STEPS, True, "anchor"),
            (f"fast dropout, {STEPS} steps per call, shared images (default)", True, STEPS,
             False, "shared")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(ap, pairs=40000)
    ap.add_argument("--rounds", type=int, default=4,
                    help="epochs per variant, one per round (default: 4)")
    ap.add_argument("--precision", choices=config.PRECISIONS, default=None,
                    help="the compute precision (default: as train_siamese_network.py, "
                         "mixed_bfloat16 where the hardware has bfloat16, else float32)")
    add_record_argument(ap)
    args = ap.parse_args()
    if args.pairs < 2 or args.rounds < 1:
        ap.error("--pairs must be at least 2 and --rounds at least 1")

    import keras

    from pyimagesearch.data.pairs import make_pair_indices, pair_dataset, pairs_by_anchor
    from pyimagesearch.data.samplers import shared_image_dataset
    from pyimagesearch.models.views import build_anchor_model, build_shared_image_model
    from pyimagesearch.siamese_network import build_pair_model, build_siamese_model
    from pyimagesearch.training.callbacks import default_precision

    precision = args.precision or default_precision()
    keras.mixed_precision.set_global_policy(precision)
    ((trainX, trainY), _) = load_training_subset(args)
    count = len(trainX)
    (pairIdx, pairLabels) = make_pair_indices(trainY, rng=0)
    datasets = {"anchor": pair_dataset(trainX, *pairs_by_anchor(pairIdx, pairLabels),
                                       config.BATCH_SIZE // 2, shuffle=True, seed=0),
                "shared": shared_image_dataset(trainX, pairIdx, pairLabels, config.BATCH_SIZE,
                                               seed=0)}
    views = {"anchor": build_anchor_model, "shared": build_shared_image_model}

    trainers = []
    for (_, fastDropout, steps, xla, view) in VARIANTS:
        keras.utils.set_random_seed(0)
        sister = build_siamese_model(config.IMG_SHAPE, fastDropout=fastDropout)
        trainer = views[view](build_pair_model(config.IMG_SHAPE, sister=sister))
        trainer.compile(loss="binary_crossentropy", optimizer="adam", steps_per_execution=steps,
                        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
                        jit_compile=xla)
        trainer.fit(datasets[view].take(2 * steps), verbose=0)  # trace the step before timing
        trainers.append((trainer, datasets[view]))

    print(f"[INFO] {describe_cpu()}")
    print(f"[INFO] {2 * count} pairs per epoch, {args.rounds} round(s), {precision}")
    speeds = [[] for _ in VARIANTS]
    for _ in range(args.rounds):
        for ((trainer, data), speed) in zip(trainers, speeds):
            (start, cpuStart) = (time.perf_counter(), time.process_time())
            trainer.fit(data, verbose=0)
            (wall, cpu) = (time.perf_counter() - start, time.process_time() - cpuStart)
            speed.append((2 * count / wall, cpu / wall))
    write_record(args.json, "benchmarks.benchmark_ideas", report(speeds))


def report(speeds):
    """Print each variant's median pairs/s and pairs per CPU-second against the first
    variant's; returns them by variant, for the record."""
    # pairs per CPU-second: the work each variant does, whatever share of the CPUs it got
    (reference, cpuReference) = (np.median([p for (p, _) in speeds[0]]),
                                 np.median([p / c for (p, c) in speeds[0]]))
    results = {}
    for ((name, *_), speed) in zip(VARIANTS, speeds):
        (median, perCpu) = (np.median([p for (p, _) in speed]),
                            np.median([p / c for (p, c) in speed]))
        print(f"[RESULT] {name:>58}: {median:6.0f} pairs/s ({median / reference:.2f}x), "
              f"{perCpu:5.0f} pairs per CPU-second ({perCpu / cpuReference:.2f}x); per round "
              f"{', '.join(f'{p:.0f} on {c:.1f} cores' for (p, c) in speed)}")
        results[name] = {"pairs_per_second": float(median),
                         "pairs_per_cpu_second": float(perCpu),
                         "to_first": {"pairs_per_second": float(median / reference),
                                      "pairs_per_cpu_second": float(perCpu / cpuReference)},
                         "rounds": [{"pairs_per_second": p, "cores": c} for (p, c) in speed]}
    return results

if __name__ == "__main__":
    main()
