# import the necessary packages
import os

# specify the shape of the inputs for our network
IMG_SHAPE = (28, 28, 1)

# specify the batch size and number of epochs
BATCH_SIZE = 64
EPOCHS = 100

# training steps run per call into TensorFlow: the same steps and updates as one at a time,
# with less per-step overhead (4-10% faster on 2 CPU cores, benchmarks/benchmark_ideas.py)
STEPS_PER_EXECUTION = 16

# the numeric precisions and tf.distribute strategies the training script offers
PRECISIONS = ("float32", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multiworker")

# define the path to the base output directory
BASE_OUTPUT = "output"

# use the base output path to derive the path to the serialized
# model along with training history plot
MODEL_PATH = os.path.sep.join([BASE_OUTPUT, "siamese_model"])
PLOT_PATH = os.path.sep.join([BASE_OUTPUT, "plot.png"])


# the per-epoch figures of the last training run, and the ROC curve on the validation pairs
LOG_PATH = os.path.sep.join([BASE_OUTPUT, "training_log.csv"])
ROC_PATH = os.path.sep.join([BASE_OUTPUT, "roc.png"])

# the follow-up post's model, trained with the contrastive loss, keeps its own files
CONTRASTIVE_MODEL_PATH = os.path.sep.join([BASE_OUTPUT, "contrastive_siamese_model"])
CONTRASTIVE_PLOT_PATH = os.path.sep.join([BASE_OUTPUT, "contrastive_plot.png"])


def output_paths(baseOutput=BASE_OUTPUT, loss="binary_crossentropy"):
    """Return (model, plot, log, ROC plot) paths under baseOutput for a model trained with loss.

    With the defaults these are MODEL_PATH, PLOT_PATH, LOG_PATH and ROC_PATH; a contrastive
    model's files carry a "contrastive_" prefix (CONTRASTIVE_MODEL_PATH, ...).
    """
    prefix = "contrastive_" if loss == "contrastive" else ""
    return tuple(os.path.join(baseOutput, prefix + os.path.basename(path))
                 for path in (MODEL_PATH, PLOT_PATH, LOG_PATH, ROC_PATH))
