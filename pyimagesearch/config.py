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
# how often a training saves its state within an epoch, besides after every epoch (--resume)
CHECKPOINT_MINUTES = 5

# the share of each class a folder of class folders without train/ and test/ holds out to
# validate on (it has no test images)
FOLDER_VALIDATION_SPLIT = 0.2

# class-folder images are decoded once before training; they stay in memory, decoded at the
# model's size, when decoding takes at least this long per image (measured: 0.03 ms for a
# 28x28 PNG, where decoding every batch costs 3-15% of the speed; about 200 ms for a 12-
# megapixel JPEG, which would make every epoch wait on the decoder) and they fit in this
CACHE_DECODE_MS = 2.0
CACHE_MB = 1024

# what --images takes: the kind of images, or auto, the rule of augmentation.image_kind:
# grayscale images whose median pixel is at most DARK_BACKGROUND are taken for ink on a dark
# background (MNIST), and those whose median is at least LIGHT_BACKGROUND with at most
# LIGHT_INK of their pixels below mid-grey for dark ink on light paper (Omniglot, signatures);
# faces is never guessed: each photo's largest face is found and aligned (pyimagesearch.faces)
IMAGE_KINDS = ("auto", "handwriting", "photo", "faces")
DARK_BACKGROUND = 0.1
LIGHT_BACKGROUND = 0.9
LIGHT_INK = 0.25

# the 2-D projections of embeddings.png (scikit-learn's PCA and t-SNE)
PROJECTIONS = ("pca", "tsne")

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
# the validation images' embeddings in 2-D
EMBEDDINGS_PATH = os.path.sep.join([BASE_OUTPUT, "embeddings.png"])

# the follow-up post's model, trained with the contrastive loss, keeps its own files
CONTRASTIVE_MODEL_PATH = os.path.sep.join([BASE_OUTPUT, "contrastive_siamese_model"])
CONTRASTIVE_PLOT_PATH = os.path.sep.join([BASE_OUTPUT, "contrastive_plot.png"])

# so does the accurate model (--architecture small_vgg)
SMALL_VGG_MODEL_PATH = os.path.sep.join([BASE_OUTPUT, "small_vgg_siamese_model"])
SMALL_VGG_PLOT_PATH = os.path.sep.join([BASE_OUTPUT, "small_vgg_plot.png"])

