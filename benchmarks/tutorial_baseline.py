"""The tutorial's training, written the tutorial's way, for benchmark_training.py to measure.

float64 images scaled to [0, 1], float64 pair arrays from make_pairs, the full model calling
the sister network once per input, keras.layers.Dropout, model.fit on numpy arrays. The one
change: the head's fixed initialisation (build_pair_model), so that the baseline learns from
every seed too.
"""
import argparse

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True, help="MNIST as for train_siamese_network.py")
    ap.add_argument("--epochs", type=int, default=1, help="epochs (default: 1)")
    ap.add_argument("--seed", type=int, default=42, help="seed (default: 42)")
    ap.add_argument("--log", required=True, help="CSV file for the per-epoch figures")
    args = ap.parse_args()

    import keras

    from pyimagesearch import config
    from pyimagesearch.data.datasets import load_dataset
    from pyimagesearch.siamese_network import build_pair_model, build_siamese_model
    from pyimagesearch.training.callbacks import EpochTimer
    from pyimagesearch.utils import make_pairs

    keras.utils.set_random_seed(args.seed)
    ((trainX, trainY), (testX, testY)) = load_dataset(args.dataset)
    trainX = np.expand_dims(trainX / 255.0, axis=-1)
    testX = np.expand_dims(testX / 255.0, axis=-1)
    (pairTrain, labelTrain) = make_pairs(trainX, trainY)
    (pairTest, labelTest) = make_pairs(testX, testY)

    model = build_pair_model(config.IMG_SHAPE,
                             sister=build_siamese_model(config.IMG_SHAPE, fastDropout=False))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit([pairTrain[:, 0], pairTrain[:, 1]], labelTrain[:],
              validation_data=([pairTest[:, 0], pairTest[:, 1]], labelTest[:]),
              batch_size=config.BATCH_SIZE, epochs=args.epochs, verbose=2,
              callbacks=[EpochTimer(), keras.callbacks.CSVLogger(args.log)])


if __name__ == "__main__":
    main()
