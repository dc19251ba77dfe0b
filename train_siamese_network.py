"""Train the siamese network of the tutorial on MNIST pairs.

USAGE
    python train_siamese_network.py
    python train_siamese_network.py --dataset path/to/mnist.npz --epochs 10
"""
# import the necessary packages
import argparse
import os
import signal
import sys

from pyimagesearch import config


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
                    help=f"pairs per training step (default: {config.BATCH_SIZE})")
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
    ap.add_argument("--seed", type=int, default=None,
                    help="seed for the pairs, the weights and the shuffling, to make a run "
                         "repeatable (default: a fresh random run, as in the tutorial)")
    args = ap.parse_args(argv)
    if args.epochs < 1:
        ap.error("--epochs must be at least 1")
    if args.batch_size < 1:
        ap.error("--batch-size must be at least 1")
    if not args.margin > 0:
        ap.error("--margin must be positive")
    return args


class StopOnInterrupt:
    """First Ctrl-C (or SIGTERM): finish the current epoch, then stop and save what was
    learned. A second one aborts at once without saving, leaving the previous model as it was."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._previous = {s: signal.signal(s, self._handle)
                          for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\n[INFO] stopping after this epoch; the model trained so far will be saved "
              "(interrupt again to abort without saving)", flush=True)


def main(argv=None):
    args = parse_args(argv)
    (modelPath, plotPath, logPath, rocPath) = config.output_paths(args.output, args.loss)

    # import TensorFlow only now, so that --help and bad arguments answer at once
    import keras
    import numpy as np
    import tensorflow as tf

    from pyimagesearch.datasets import load_dataset, pair_dataset
    from pyimagesearch.evaluation import evaluate_pairs, plot_roc, summary
    from pyimagesearch.metrics import make_contrastive_loss
    from pyimagesearch.model_io import save_model
    from pyimagesearch.siamese_network import build_pair_model
    from pyimagesearch.utils import make_pair_indices, plot_training

    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)

    # load MNIST dataset and add a channel dimension to the images
    print("[INFO] loading MNIST dataset...")
    (trainX, trainY), (testX, testY) = load_dataset(args.dataset)
    inputShape = trainX.shape[1:] + (1,)

    # prepare the positive and negative pairs (as indices into the uint8 images; each batch
    # is gathered and scaled to [0, 1] on the fly)
    print("[INFO] preparing positive and negative pairs...")
    rng = np.random.default_rng(args.seed)
    (pairTrain, labelTrain) = make_pair_indices(trainY, rng)
    (pairTest, labelTest) = make_pair_indices(testY, rng)
    trainData = pair_dataset(trainX, pairTrain, labelTrain, args.batch_size, shuffle=True,
                             seed=args.seed)
    testData = pair_dataset(testX, pairTest, labelTest, args.batch_size)

    # configure the siamese network
    print("[INFO] building siamese network...")
    contrastive = args.loss == "contrastive"
    model = build_pair_model(inputShape, head=None if contrastive else "sigmoid")

    # compile the model
    print("[INFO] compiling model...")
    if contrastive:
        model.compile(loss=make_contrastive_loss(args.margin), optimizer="adam")
    else:
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])

    # train the model
    print("[INFO] training model...")
    os.makedirs(args.output, exist_ok=True)
    with StopOnInterrupt() as interrupt:
        stopper = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: setattr(model, "stop_training",
                                                     interrupt.requested))
        # trainData reshuffles itself every epoch; one progress line per epoch in a log file
        history = model.fit(trainData, validation_data=testData, epochs=args.epochs,
                            shuffle=False, verbose=1 if sys.stdout.isatty() else 2,
                            callbacks=[stopper, keras.callbacks.CSVLogger(logPath)])
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
    print(f"[INFO] validation pairs: accuracy {evaluation['accuracy']:.4f} at threshold "
          f"{evaluation['threshold']:.4f}, ROC AUC {evaluation['roc_auc']:.4f}, equal error "
          f"rate {evaluation['eer']:.4f} at {evaluation['eer_threshold']:.4f}, best accuracy "
          f"{evaluation['best_accuracy']:.4f} at {evaluation['best_threshold']:.4f}")

    # serialize the model to disk, with what the test script needs to read its output
    print("[INFO] saving siamese model...")
    save_model(model, modelPath, metadata={
        "loss": args.loss, "score": scoreKind, "threshold": evaluation["threshold"],
        "margin": args.margin if contrastive else None, "input_shape": list(inputShape),
        "dataset": args.dataset, "epochs": epochsRun, "batch_size": args.batch_size,
        "seed": args.seed, "validation": summary(evaluation),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}})

    # plot the training history and the ROC curve
    print("[INFO] plotting training history...")
    plot_training(history, plotPath)
    plot_roc(evaluation, rocPath)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("[ERROR] interrupted; nothing was saved")
    except (ValueError, OSError) as e:
        sys.exit(f"[ERROR] {e}")
