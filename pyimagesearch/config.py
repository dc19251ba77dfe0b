# import the necessary packages
import os

# specify the shape of the inputs for our network
IMG_SHAPE = (28, 28, 1)

# specify the batch size and number of epochs
BATCH_SIZE = 64
EPOCHS = 100

# define the path to the base output directory
BASE_OUTPUT = "output"

# use the base output path to derive the path to the serialized
# model along with training history plot
MODEL_PATH = os.path.sep.join([BASE_OUTPUT, "siamese_model"])
PLOT_PATH = os.path.sep.join([BASE_OUTPUT, "plot.png"])


# the per-epoch figures of the last training run
LOG_PATH = os.path.sep.join([BASE_OUTPUT, "training_log.csv"])


def output_paths(baseOutput=BASE_OUTPUT):
    """Return (model path, plot path, log path) under baseOutput, named as in BASE_OUTPUT."""
    return tuple(os.path.join(baseOutput, os.path.basename(path))
                 for path in (MODEL_PATH, PLOT_PATH, LOG_PATH))
