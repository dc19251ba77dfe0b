"""Train the siamese network of the tutorial on MNIST pairs.

USAGE
    python train_siamese_network.py
    python train_siamese_network.py --dataset path/to/mnist.npz --epochs 10
"""
# import the necessary packages
import argparse
import os
import sys

from pyimagesearch import config
from pyimagesearch.cli import run


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Train a siamese network on MNIST image pairs and save it as a "
                    "TensorFlow SavedModel together with a plot of its training history.")
    ap.add_argument("--dataset", default="mnist",
                    help="'mnist' downloads MNIST with Keras (or uses Keras's cache); otherwise "
                         "a Keras-layout .npz (x_train, y_train, x_test, y_test) or a folder "
                         "with the four MNIST IDX files, gzipped or not (default: mnist)")
    ap.add_argument("--epochs", type=int, default=config.EPOCHS,
                    help=f"number of passes over the training pairs (default: {config.EPOCHS})")
    ap.add_argument("--batch-size", type=int, default=config.BATCH_SIZE,
                    help="pairs per training step, an even number: each image's positive and "
                         f"negative pair travel together (default: {config.BATCH_SIZE})")
    ap.add_argument("--output", default=config.BASE_OUTPUT,
                    help="folder for the model (siamese_model/), the history plot (plot.png), "
                         "the per-epoch log (training_log.csv) and the ROC plot (roc.png) "
                         f"(default: {config.BASE_OUTPUT})")
    ap.add_argument("--loss", choices=("binary_crossentropy", "contrastive"),
                    default="binary_crossentropy",
                    help="binary_crossentropy (default, the tutorial): a sigmoid head outputs a "
                         "similarity in [0, 1]. contrastive (the follow-up post): the model "
                         "outputs the euclidean distance, files get a contrastive_ prefix")
    ap.add_argument("--margin", type=float, default=1.0,
                    help="margin of the contrastive loss: how far apart different-class pairs "
                         "are pushed (default: 1.0)")
    ap.add_argument("--precision", choices=config.PRECISIONS, default=None,
                    help="float32, or mixed_bfloat16 (bfloat16 compute, float32 weights; "
                         "faster where the hardware has bfloat16) (default: mixed_bfloat16 on "
                         "CPUs with AVX512_BF16/AMX and GPUs of compute capability 8+, else "
                         "float32)")
    ap.add_argument("--strategy", choices=config.STRATEGIES, default="default",
                    help="tf.distribute strategy: default (one device), mirrored (all local "
                         "GPUs), multiworker (the machines in TF_CONFIG) (default: default)")
    ap.add_argument("--resample-pairs", action="store_true",
                    help="draw fresh pairs every epoch (each image still anchors one positive "
                         "and one negative pair) instead of the tutorial's single draw; the "
                         "validation pairs stay fixed (default: off)")
    ap.add_argument("--seed", type=int, default=None,
                    help="seed for the pairs, the weights and the shuffling, to make a run "
                         "repeatable (default: a fresh random run, as in the tutorial)")
    args = ap.parse_args(argv)
    if args.epochs < 1:
        ap.error("--epochs must be at least 1")
    if args.batch_size < 2 or args.batch_size % 2:
        ap.error("--batch-size must be an even number of at least 2")
    if not args.margin > 0:
        ap.error("--margin must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    (modelPath, plotPath, logPath, rocPath) = config.output_paths(args.output, args.loss)

    # import TensorFlow only now, so that --help and bad arguments answer at once
    import keras
    import numpy as np
    import tensorflow as tf

    from pyimagesearch.datasets import load_dataset, pair_dataset, resampled_pair_dataset
    from pyimagesearch.evaluation import describe, evaluate_pairs, plot_roc, summary
    from pyimagesearch.metrics import make_contrastive_loss
    from pyimagesearch.model_io import save_model
    from pyimagesearch.siamese_network import build_anchor_model, build_pair_model
    from pyimagesearch.training import (
        EpochTimer,
        StopOnInterrupt,
        default_precision,
        get_strategy,
    )
    from pyimagesearch.utils import make_pair_indices, pairs_by_anchor, plot_training

    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    precision = args.precision or default_precision()
    keras.mixed_precision.set_global_policy(precision)
    strategy = get_strategy(args.strategy)
    if args.strategy != "default":
        print(f"[INFO] {args.strategy} strategy over {strategy.num_replicas_in_sync} "
              f"replica(s)")

    # load MNIST dataset and add a channel dimension to the images
    print("[INFO] loading MNIST dataset...")
    (trainX, trainY), (testX, testY) = load_dataset(args.dataset)
    inputShape = trainX.shape[1:] + (1,)

    # prepare the positive and negative pairs (as indices into the uint8 images; each batch
    # is gathered and scaled to [0, 1] on the fly). Each image anchors one positive and one
    # negative pair; they travel together so the anchor is embedded once for both
    print("[INFO] preparing positive and negative pairs...")
    rng = np.random.default_rng(args.seed)
    (pairTrain, labelTrain) = make_pair_indices(trainY, rng)
    (pairTest, labelTest) = make_pair_indices(testY, rng)
    anchorsPerStep = args.batch_size // 2
    # pairTrain is drawn even when resampling, so a seed gives the same validation pairs
    # either way (and the resampled first epoch equals the single draw)
    if args.resample_pairs:
        trainData = resampled_pair_dataset(trainX, trainY, anchorsPerStep, seed=args.seed)
    else:
        trainData = pair_dataset(trainX, *pairs_by_anchor(pairTrain, labelTrain),
                                 anchorsPerStep, shuffle=True, seed=args.seed)
    validationData = pair_dataset(testX, *pairs_by_anchor(pairTest, labelTest), anchorsPerStep)
    testData = pair_dataset(testX, pairTest, labelTest, args.batch_size)

    # configure the siamese network (and its anchor view for training)
    print("[INFO] building siamese network...")
    contrastive = args.loss == "contrastive"
    # several steps per call only on one device: under tf.distribute, Keras 3's multi-step
    # loop fails ("You must feed a value for placeholder tensor", keras-team/keras#19246)
    steps = config.STEPS_PER_EXECUTION if args.strategy == "default" else 1
    with strategy.scope():
        model = build_pair_model(inputShape, head=None if contrastive else "sigmoid")
        trainer = build_anchor_model(model)

        # compile the model
        print("[INFO] compiling model...")
        if contrastive:
            (loss, metrics) = (make_contrastive_loss(args.margin), None)
        else:
            # spelled out: for the anchor view's two outputs, "accuracy" would mean
            # categorical accuracy (positive pair above negative), not pair accuracy
            (loss, metrics) = ("binary_crossentropy",
                               [keras.metrics.BinaryAccuracy(name="accuracy")])
        trainer.compile(loss=loss, optimizer="adam", metrics=metrics, steps_per_execution=steps)

    # train the model
    print("[INFO] training model...")
    os.makedirs(args.output, exist_ok=True)
    with StopOnInterrupt() as interrupt:
        stopper = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: setattr(trainer, "stop_training",
                                                     interrupt.requested))
        # trainData reshuffles (or redraws) itself every epoch; one progress line per epoch
        # in a log file
        history = trainer.fit(trainData, validation_data=validationData, epochs=args.epochs,
                              shuffle=False, verbose=1 if sys.stdout.isatty() else 2,
                              callbacks=[stopper, EpochTimer(),
                                         keras.callbacks.CSVLogger(logPath)])
    epochsRun = len(history.history["loss"])
    if epochsRun < args.epochs:
        print(f"[INFO] training stopped after {epochsRun} of {args.epochs} epochs")

    # measure the model on the validation pairs; a similarity model keeps the tutorial's 0.5,
    # a distance model works at the threshold that is most accurate on them
    print("[INFO] evaluating siamese model...")
    scores = model.predict(testData, verbose=0).reshape(-1)
    scoreKind = "distance" if contrastive else "similarity"
    evaluation = evaluate_pairs(scores, labelTest, scoreKind,
                                args.margin / 2 if contrastive else 0.5)
    if contrastive:
        evaluation = evaluate_pairs(scores, labelTest, scoreKind, evaluation["best_threshold"])
    print(f"[INFO] validation pairs: {describe(evaluation)}")

    # serialize the model to disk, with what the test script needs to read its output
    print("[INFO] saving siamese model...")
    save_model(model, modelPath, metadata={
        "loss": args.loss, "score": scoreKind, "threshold": evaluation["threshold"],
        "margin": args.margin if contrastive else None, "input_shape": list(inputShape),
        "dataset": args.dataset, "epochs": epochsRun, "batch_size": args.batch_size,
        "resample_pairs": args.resample_pairs,
        "seed": args.seed, "precision": precision, "strategy": args.strategy,
        "validation": summary(evaluation),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}})

    # plot the training history and the ROC curve
    print("[INFO] plotting training history...")
    plot_training(history, plotPath)
    plot_roc(evaluation, rocPath)


if __name__ == "__main__":
    run(main, "[ERROR] interrupted; nothing was saved")
