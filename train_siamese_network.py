"""Train the siamese network of the tutorial on MNIST pairs (or pairs of your own images).

USAGE
    python train_siamese_network.py
    python train_siamese_network.py --dataset path/to/mnist.npz --epochs 10
    python train_siamese_network.py --dataset my_photos --image-size 64 64 --color-mode rgb
"""
# import the necessary packages
import argparse
import math
import os
import shutil
import sys
import tempfile

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run
from pyimagesearch.image_folders import (
    MAX_IMAGE_SIDE,
    MIN_IMAGE_SIDE,
    check_image_size,
    has_test_folder,
    is_class_folder_tree,
    load_training_dataset,
)
from pyimagesearch.images import COLOR_MODES


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Train a siamese network on MNIST image pairs (or on your own images, "
                    "one folder per class) and save it as a TensorFlow SavedModel together "
                    "with a plot of its training history.")
    ap.add_argument("--dataset", default="mnist",
                    help="'mnist' downloads MNIST with Keras (or uses Keras's cache); a "
                         "Keras-layout .npz (x_train, y_train, x_test, y_test); a folder with "
                         "the four MNIST IDX files, gzipped or not; or a folder of class "
                         "folders (one subfolder of images per class, named after it; with "
                         "train/ and test/ trees of them, or without: then --validation-split "
                         "of each class is held out) (default: mnist)")
    ap.add_argument("--image-size", type=int, nargs=2, default=None,
                    metavar=("HEIGHT", "WIDTH"),
                    help="size class-folder images are resized to, each side "
                         f"{MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE} (default: 28 28; MNIST-style "
                         "data keeps its own size)")
    ap.add_argument("--color-mode", choices=COLOR_MODES, default="grayscale",
                    help="read class-folder images as grayscale (1 channel) or rgb (3 "
                         "channels); MNIST-style data is grayscale (default: grayscale)")
    ap.add_argument("--cache-images", choices=("auto", "always", "never"), default="auto",
                    help="keep class-folder images in memory once decoded (at the model's "
                         "size, as uint8) instead of decoding every batch: auto does when "
                         f"decoding takes {config.CACHE_DECODE_MS:g} ms or more per image (large "
                         f"photos) and they fit in {config.CACHE_MB} MB (default: auto)")
    ap.add_argument("--architecture", choices=config.ARCHITECTURES, default="tutorial",
                    help="the sister network: tutorial (default; the tutorial's two 2x2 "
                         "convolutions, 19,888 parameters) or small_vgg (three blocks of 3x3 "
                         "convolution, batch norm and max-pooling, ~100k parameters: accurate, "
                         "and robust to digits from outside MNIST); files of small_vgg get a "
                         "small_vgg_ prefix")
    ap.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                    help="augment the training images (small rotations, shifts and zoom, "
                         "stroke thickness, blur, noise), never the validation ones (default: "
                         "on for small_vgg, off for tutorial)")
    ap.add_argument("--validation-split", type=float, default=None, metavar="FRACTION",
                    help="hold out this share of each class's training images: their pairs "
                         "validate each epoch, keep the epoch of lowest validation loss and "
                         "choose the threshold, and the test pairs only measure the result; 0 "
                         "validates on the test pairs as the tutorial does (default: "
                         f"{config.VALIDATION_SPLIT} for small_vgg, 0 for tutorial; "
                         f"{config.FOLDER_VALIDATION_SPLIT} for class folders without test/, "
                         "which have no test pairs)")
    ap.add_argument("--epochs", type=int, default=None,
                    help=f"number of passes over the training pairs (default: {config.EPOCHS} "
                         f"for tutorial, {config.SMALL_VGG_EPOCHS} for small_vgg)")
    ap.add_argument("--batch-size", type=int, default=config.BATCH_SIZE,
                    help="pairs per training step, an even number: each image's positive and "
                         f"negative pair travel together (default: {config.BATCH_SIZE})")
    ap.add_argument("--learning-rate", type=float, default=None,
                    help="Adam's (initial) learning rate (default: 0.001, Keras's default, "
                         f"for tutorial; {config.SMALL_VGG_LEARNING_RATE} for small_vgg)")
    ap.add_argument("--weight-decay", type=float, default=None,
                    help="decoupled weight decay (AdamW) per step, relative to the learning "
                         "rate; 0 is plain Adam (default: 0 for tutorial, "
                         f"{config.SMALL_VGG_WEIGHT_DECAY} for small_vgg)")
    ap.add_argument("--schedule", choices=("constant", "cosine"), default=None,
                    help="learning rate over the run: constant, or cosine (decays to 0 by the "
                         "last step) (default: constant for tutorial, cosine for small_vgg)")
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
    ap.add_argument("--worker-timeout", type=float, default=300, metavar="SECONDS",
                    help="with --strategy multiworker: how long to wait for the other workers "
                         "of TF_CONFIG before giving up (default: 300)")
    ap.add_argument("--resample-pairs", action=argparse.BooleanOptionalAction, default=False,
                    help="draw fresh pairs every epoch (each image still anchors one positive "
                         "and one negative pair) instead of the tutorial's single draw; the "
                         "validation pairs stay fixed (default: off)")
    ap.add_argument("--seed", type=int, default=None,
                    help="seed for the pairs, the weights and the shuffling, to make a run "
                         "repeatable (default: a fresh random run, as in the tutorial)")
    add_verbose_argument(ap)
    args = ap.parse_args(argv)
    tutorial = args.architecture == "tutorial"
    # class folders without test/ have no test images: a held-out share validates
    untested = is_class_folder_tree(args.dataset) and not has_test_folder(args.dataset)
    if untested and args.validation_split is None:
        args.validation_split = config.FOLDER_VALIDATION_SPLIT
    # what the user left unsaid follows the architecture's own recipe
    defaults = {"epochs": (config.EPOCHS, config.SMALL_VGG_EPOCHS),
                "learning_rate": (0.001, config.SMALL_VGG_LEARNING_RATE),
                "schedule": ("constant", "cosine"), "augment": (False, True),
                "validation_split": (0.0, config.VALIDATION_SPLIT),
                "weight_decay": (0.0, config.SMALL_VGG_WEIGHT_DECAY)}
    for (name, (forTutorial, forOthers)) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, forTutorial if tutorial else forOthers)
    # a value out of range is one [ERROR] line (run() prints it), as for bad data
    if args.epochs < 1:
        raise ValueError("--epochs must be at least 1")
    if args.batch_size < 2 or args.batch_size % 2:
        raise ValueError("--batch-size must be an even number of at least 2")
    if not 0 < args.learning_rate < 1:
        raise ValueError("--learning-rate must lie between 0 and 1")
    if not 0 < args.worker_timeout < float("inf"):
        raise ValueError("--worker-timeout must be a positive number of seconds")
    if not 0 <= args.weight_decay < 1:
        raise ValueError("--weight-decay must be at least 0 and below 1")
    if not args.margin > 0 or args.margin == float("inf"):
        raise ValueError("--margin must be a positive number")
    if not 0 <= args.validation_split < 1:
        raise ValueError("--validation-split must be at least 0 and below 1")
    if untested and not args.validation_split:
        raise ValueError(f"--validation-split must lie strictly between 0 and 1: "
                         f"{args.dataset} has no train/ and test/ folders, so a share of its "
                         f"images must validate")
    if args.image_size is not None:
        check_image_size(args.image_size, "--image-size")
    return args


def main(argv=None):
    args = parse_args(argv)
    multiworker = args.strategy == "multiworker"
    from pyimagesearch.distributed import cluster_config, is_chief
    if multiworker and args.seed is None and sum(map(len, cluster_config()[0].values())) > 1:
        raise ValueError("--strategy multiworker needs --seed (the same on every worker), so "
                         "that every worker draws the same pairs")
    # only the chief writes into --output; the other workers write into a scratch folder
    # that they remove at the end
    output = args.output if not multiworker or is_chief() else tempfile.mkdtemp()
    try:
        train(args, output)
    finally:
        if output != args.output:
            shutil.rmtree(output, ignore_errors=True)


def train(args, output):
    (modelPath, plotPath, logPath, rocPath, embeddingsPath) = config.output_paths(
        output, args.loss, args.architecture)
    multiworker = args.strategy == "multiworker"

    # the data first: a dataset that cannot be used is refused before TensorFlow loads
    import numpy as np

    from pyimagesearch.datasets import split_validation
    from pyimagesearch.pair_pipeline import input_shape_of

    if not os.path.exists(args.dataset):
        quiet_tensorflow(args.verbose)  # Keras's downloader loads TensorFlow
    ((trainX, trainY), (testX, testY), classNames) = load_training_dataset(
        args.dataset, args.image_size, args.color_mode, cache=args.cache_images)
    inputShape = input_shape_of(trainX)
    rng = np.random.default_rng(args.seed)
    if args.validation_split:
        # the held-out images validate and choose; the test images only measure, at the end
        (keep, held) = split_validation(trainY, args.validation_split, rng, classNames)
        (valX, valY) = (trainX[held], trainY[held])
        (trainX, trainY) = (trainX[keep], trainY[keep])
        drawn = f"seed {args.seed}" if args.seed is not None else "no --seed: a new draw each run"
        print(f"[INFO] holding out {len(held):,} of {len(held) + len(keep):,} training images "
              f"({args.validation_split:.0%} of each class, {drawn}) as validation pairs; "
              + ("the test images only measure the model" if testX is not None else
                 "with no test/ folder, no pairs are left to measure the model on apart from "
                 "those that chose its epoch and threshold"))
    else:
        (valX, valY) = (testX, testY)

    # import TensorFlow only now, so that --help and bad arguments or data answer at once
    quiet_tensorflow(args.verbose)
    import keras
    import tensorflow as tf

    from pyimagesearch.augmentation import build_augmentation
    from pyimagesearch.embeddings import plot_embeddings, sample_per_class
    from pyimagesearch.evaluation import describe, evaluate_pairs, plot_roc, summary
    from pyimagesearch.metrics import make_contrastive_loss
    from pyimagesearch.model_io import save_model
    from pyimagesearch.pair_pipeline import load_images, pair_dataset, resampled_pair_dataset
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
    strategy = get_strategy(args.strategy, args.worker_timeout)
    if args.strategy != "default":
        print(f"[INFO] {args.strategy} strategy over {strategy.num_replicas_in_sync} "
              f"replica(s)")

    # prepare the positive and negative pairs (as indices into the uint8 images; each batch
    # is gathered and scaled to [0, 1] on the fly). Each image anchors one positive and one
    # negative pair; they travel together so the anchor is embedded once for both
    print("[INFO] preparing positive and negative pairs...")
    (pairTrain, labelTrain) = make_pair_indices(trainY, rng)
    (pairVal, labelVal) = make_pair_indices(valY, rng)
    anchorsPerStep = args.batch_size // 2
    # pairTrain is drawn even when resampling, so a seed gives the same validation pairs
    # either way (and the resampled first epoch equals the single draw)
    if args.resample_pairs:
        trainData = resampled_pair_dataset(trainX, trainY, anchorsPerStep, seed=args.seed)
    else:
        trainData = pair_dataset(trainX, *pairs_by_anchor(pairTrain, labelTrain),
                                 anchorsPerStep, shuffle=True, seed=args.seed)
    validationData = pair_dataset(valX, *pairs_by_anchor(pairVal, labelVal), anchorsPerStep)

    # configure the siamese network (and its anchor view for training)
    print("[INFO] building siamese network...")
    contrastive = args.loss == "contrastive"
    # several steps per call only on one device: under tf.distribute, Keras 3's multi-step
    # loop fails ("You must feed a value for placeholder tensor", keras-team/keras#19246)
    steps = config.STEPS_PER_EXECUTION if args.strategy == "default" else 1
    with strategy.scope():
        model = build_pair_model(inputShape, head=None if contrastive else "sigmoid",
                                 architecture=args.architecture)
        augmentation = build_augmentation(inputShape, args.seed) if args.augment else None
        trainer = build_anchor_model(model, augmentation)

        # compile the model
        print("[INFO] compiling model...")
        if contrastive:
            (loss, metrics) = (make_contrastive_loss(args.margin), None)
        else:
            # spelled out: for the anchor view's two outputs, "accuracy" would mean
            # categorical accuracy (positive pair above negative), not pair accuracy
            (loss, metrics) = ("binary_crossentropy",
                               [keras.metrics.BinaryAccuracy(name="accuracy")])
        learningRate = args.learning_rate
        if args.schedule == "cosine":
            learningRate = keras.optimizers.schedules.CosineDecay(
                learningRate, decay_steps=args.epochs * math.ceil(len(trainY) / anchorsPerStep))
        optimizer = (keras.optimizers.AdamW(learningRate, weight_decay=args.weight_decay)
                     if args.weight_decay else keras.optimizers.Adam(learningRate))
        trainer.compile(loss=loss, optimizer=optimizer,
                        metrics=metrics, steps_per_execution=steps)

    if multiworker:
        from pyimagesearch.distributed import shard_by_data, work_around_keras_fit
        (trainData, validationData) = (shard_by_data(trainData), shard_by_data(validationData))
        work_around_keras_fit(trainer, trainData)

    # train the model
    print("[INFO] training model...")
    os.makedirs(output, exist_ok=True)
    # across workers, an interrupt ends the run at once (multiworker_strategy's handlers):
    # finishing the epoch alone would leave the other workers waiting
    with StopOnInterrupt(enabled=not multiworker) as interrupt:
        stopper = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: setattr(trainer, "stop_training",
                                                     interrupt.requested))
        callbacks = [stopper, EpochTimer(), keras.callbacks.CSVLogger(logPath)]
        if args.validation_split:
            # with pairs of its own to choose on, keep the epoch that did best on them (the
            # patience of every epoch means it never stops early, it only restores)
            keepBest = keras.callbacks.EarlyStopping(patience=args.epochs,
                                                     restore_best_weights=True)
            callbacks.append(keepBest)
        # trainData reshuffles (or redraws) itself every epoch; one progress line per epoch
        # in a log file
        try:
            history = trainer.fit(trainData, validation_data=validationData,
                                  epochs=args.epochs, shuffle=False,
                                  verbose=1 if sys.stdout.isatty() else 2, callbacks=callbacks)
        except (tf.errors.UnavailableError, tf.errors.AbortedError,
                tf.errors.CancelledError) as e:
            if not multiworker:
                raise
            reason = str(e).strip().splitlines()[0][:200]
            raise OSError(f"another worker left the run ({reason}); nothing was saved, the "
                          f"previous model stays") from None
        except tf.errors.OpError as e:
            if classNames is None:
                raise
            # a file checked before training that changed or vanished since
            reason = str(e).strip().splitlines()[0][:300]
            raise OSError(f"reading the images failed during training ({reason}); nothing "
                          f"was saved, the previous model stays") from None
    epochsRun = len(history.history["loss"])
    if epochsRun < args.epochs:
        print(f"[INFO] training stopped after {epochsRun} of {args.epochs} epochs")
    epochKept = epochsRun
    if args.validation_split:
        epochKept = keepBest.best_epoch + 1
        print(f"[INFO] keeping epoch {epochKept}, of the lowest validation loss "
              f"({keepBest.best:.4f})")

    # measure the model on the validation pairs; the tutorial's similarity model keeps its
    # 0.5, otherwise the model works at the threshold that is most accurate on them
    print("[INFO] evaluating siamese model...")
    scoreKind = "distance" if contrastive else "similarity"

    def score(images, pairIdx, pairLabels):
        # called batch by batch rather than through predict, which under a tf.distribute
        # strategy would split the pairs across the workers
        return np.concatenate([np.asarray(model(pair, training=False)).reshape(-1)
                               for (pair, _) in pair_dataset(images, pairIdx, pairLabels,
                                                             1024)])

    scores = score(valX, pairVal, labelVal)
    evaluation = evaluate_pairs(scores, labelVal, scoreKind,
                                args.margin / 2 if contrastive else 0.5)
    if contrastive or args.validation_split:
        evaluation = evaluate_pairs(scores, labelVal, scoreKind, evaluation["best_threshold"])
    print(f"[INFO] validation pairs: {describe(evaluation)}")
    choice = {"threshold_chosen_on": "test pairs (the tutorial's validation data)"}
    if args.validation_split and testX is not None:
        (pairTest, labelTest) = make_pair_indices(testY, rng)
        testEvaluation = evaluate_pairs(score(testX, pairTest, labelTest), labelTest,
                                        scoreKind, evaluation["threshold"])
        print(f"[INFO] test pairs: {describe(testEvaluation)}")
        choice = {"test": summary(testEvaluation)}
    if args.validation_split:
        choice["threshold_chosen_on"] = (f"validation split: {len(valY)} training images "
                                         f"({args.validation_split:g}), seed {args.seed}")

    # serialize the model to disk, with what the test script needs to read its output
    print("[INFO] saving siamese model...")
    save_model(model, modelPath, metadata={
        "loss": args.loss, "score": scoreKind, "threshold": evaluation["threshold"],
        "margin": args.margin if contrastive else None, "input_shape": list(inputShape),
        "color_mode": args.color_mode, "class_names": classNames,
        "dataset": args.dataset, "epochs": epochsRun, "epoch_kept": epochKept,
        "batch_size": args.batch_size, "resample_pairs": args.resample_pairs,
        "architecture": args.architecture, "augment": args.augment,
        "learning_rate": args.learning_rate, "schedule": args.schedule,
        "weight_decay": args.weight_decay,
        "validation_split": args.validation_split, **choice,
        "seed": args.seed, "precision": precision, "strategy": args.strategy,
        "validation": summary(evaluation),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}})

    # plot the training history and the ROC curve
    print("[INFO] plotting training history...")
    plot_training(history, plotPath)
    plot_roc(evaluation, rocPath)
    # what the network learned: the validation images' embeddings, 200 of each class at most
    shown = sample_per_class(valY, 200 * len(np.unique(valY)), seed=args.seed or 0)
    if len(shown) >= 3:
        sister = model.get_layer("sister_network")
        embeddings = sister(load_images(valX, shown), training=False)
        plot_embeddings(np.asarray(embeddings, np.float32), valY[shown], embeddingsPath,
                        classNames=classNames)
    else:
        print(f"[INFO] {len(shown)} validation images are too few to draw their embeddings")
    if multiworker:
        from pyimagesearch.distributed import weights_checksum
        print(f"[INFO] weights checksum: {weights_checksum(model)}")


if __name__ == "__main__":
    run(main, "[ERROR] interrupted; nothing was saved")
