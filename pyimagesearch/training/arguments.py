"""The training script's command line: its flags, grouped by what they configure (the
data, the recipe, the loss, the run), the recipe's defaults for what the user leaves unsaid
(pyimagesearch/models/recipes.py) and the checks that refuse bad values with one line."""
import argparse
import importlib.util
import os

from pyimagesearch import config
from pyimagesearch.cli import add_verbose_argument
from pyimagesearch.config import DARK_BACKGROUND, IMAGE_KINDS, LIGHT_BACKGROUND, LIGHT_INK
from pyimagesearch.data.image_folders import (
    MAX_IMAGE_SIDE,
    MIN_IMAGE_SIDE,
    check_image_size,
    dataset_name,
    has_test_folder,
    is_class_folder_tree,
    resolve_dataset,
)
from pyimagesearch.data.images import COLOR_MODES
from pyimagesearch.models.recipes import (
    ARCHITECTURES,
    LOSSES,
    MINING,
    PAIRS,
    architecture_named,
    choices_help,
    loss_named,
    output_paths,
    recipe_defaults,
)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Train a siamese network on MNIST image pairs (or on your own images, "
                    "one folder per class) and save it as a TensorFlow SavedModel together "
                    "with a plot of its training history.")
    add_data_arguments(ap)
    add_recipe_arguments(ap)
    add_loss_arguments(ap)
    add_run_arguments(ap)
    add_verbose_argument(ap)
    args = ap.parse_args(argv)
    # zips unpacked, several sources as a list of folders
    (args.sources, args.dataset) = (args.dataset, resolve_dataset(args.dataset))
    fill_recipe_defaults(args)
    check_arguments(args)
    if args.output is None:
        args.output = default_output(args.sources, args.dataset)
    return args


def default_output(sources, dataset):
    """output/ for MNIST-style data (the tutorial's), output/NAME for class folders and
    zips: NAME is the first source's file or folder name without its extension."""
    if not is_class_folder_tree(dataset):
        return config.BASE_OUTPUT
    name = os.path.splitext(os.path.basename(os.path.normpath(sources[0])))[0]
    return os.path.join(config.BASE_OUTPUT, name or "dataset")


def check_output_is_free(args):
    """Refuse (ValueError) to replace a folder that is not a model, or a model trained on
    other data unless --overwrite."""
    from pyimagesearch.models.model_io import METADATA_FILE, check_replaceable, read_metadata

    modelPath = output_paths(args.output, args.loss, args.architecture)[0]
    # refused now rather than after the training: a folder of the user's is never replaced
    check_replaceable(modelPath)
    if args.overwrite or not os.path.isfile(os.path.join(modelPath, METADATA_FILE)):
        return
    trainedOn = read_metadata(modelPath).get("dataset")
    if trainedOn is not None and same_data(trainedOn) != same_data(args.sources):
        raise ValueError(f"{modelPath} holds a model trained on {trainedOn}: pass --output "
                         f"DIR to write this one elsewhere, or --overwrite to replace it")


def same_data(dataset):
    """What two datasets (a path, or a list of them) are compared by: MNIST however it is
    reached (Keras's download or a copy of mnist.npz), any other by its real paths."""
    sources = [dataset] if isinstance(dataset, str) else list(dataset)
    return tuple("mnist" if source == "mnist" or os.path.basename(source) == "mnist.npz"
                 else os.path.realpath(source) for source in sources)


def add_data_arguments(ap):
    ap.add_argument("--dataset", nargs="+", default=["mnist"], metavar="DATASET",
                    help="'mnist' downloads MNIST with Keras (or uses Keras's cache); a "
                         "Keras-layout .npz (x_train, y_train, x_test, y_test); a folder with "
                         "the four MNIST IDX files, gzipped or not; or a folder of class "
                         "folders (one subfolder of images per class, named after it; folders "
                         "of class folders name their classes by path, Greek/character01; "
                         "with train/ and test/ trees of them, or without: then "
                         "--validation-split of each class is held out); zips of class "
                         "folders (Omniglot's) and several folders or zips are read as one "
                         "tree, classes of the same name merged (default: mnist)")
    ap.add_argument("--image-size", type=int, nargs=2, default=None,
                    metavar=("HEIGHT", "WIDTH"),
                    help="size class-folder images are resized to, each side "
                         f"{MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE} (default: 28 28; MNIST-style "
                         "data keeps its own size)")
    ap.add_argument("--color-mode", choices=COLOR_MODES, default="grayscale",
                    help="read class-folder images as grayscale (1 channel) or rgb (3 "
                         "channels); MNIST-style data is grayscale (default: grayscale)")
    ap.add_argument("--classes", nargs="+", default=None, metavar="CLASS",
                    help="train (and validate and test) on these classes only: digit labels "
                         "for MNIST-style data, folder names for class folders; the rest are "
                         "left for measuring recognition of classes the network never saw "
                         "(default: all)")
    ap.add_argument("--images", choices=IMAGE_KINDS, default="auto",
                    help="what the images are, for how they are read and augmented: "
                         "handwriting (MNIST-style data; grayscale folders whose median pixel "
                         f"is at most {DARK_BACKGROUND:g}, bright strokes on dark, or at "
                         f"least {LIGHT_BACKGROUND:g} with at most {round(100 * LIGHT_INK)}%% "
                         "of the pixels below mid-grey, dark strokes on light paper like "
                         "Omniglot's, read "
                         "inverted), or photo (colour and other grayscale folders); auto "
                         "applies that rule, the others override it; faces (never guessed) "
                         "finds each photo's largest face and aligns it by its five landmarks, "
                         "and every script then reads photos for the model that way; "
                         "metadata.json records the choice (default: auto)")
    ap.add_argument("--cache-images", choices=("auto", "always", "never"), default="auto",
                    help="keep class-folder images in memory once decoded (at the model's "
                         "size, as uint8) instead of decoding every batch: auto does when "
                         f"decoding takes {config.CACHE_DECODE_MS:g} ms or more per image (large "
                         f"photos) and they fit in {config.CACHE_MB} MB (default: auto)")


def add_recipe_arguments(ap):
    # every default left as None here is the chosen recipe's (pyimagesearch/models/recipes.py)
    ap.add_argument("--architecture", choices=tuple(ARCHITECTURES), default="tutorial",
                    help=f"the sister network: {choices_help(ARCHITECTURES)}; files of an "
                         "architecture other than tutorial get its name as a prefix")
    ap.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                    help="augment the training images, never the validation ones, as the "
                         "data calls for: handwriting (small rotations, shifts and zoom, "
                         "stroke thickness, blur, noise) for MNIST-style data and grayscale "
                         "folders of bright strokes on a dark background, photo (flips, "
                         "shifts, zoom, brightness, contrast) for colour and other class "
                         "folders; metadata.json records which (default: "
                         f"{recipe_defaults('augment')})")
    ap.add_argument("--validation-split", type=float, default=None, metavar="FRACTION",
                    help="hold out this share of each class's training images: their pairs "
                         "validate each epoch, keep the epoch of lowest validation loss and "
                         "choose the threshold, and the test pairs only measure the result; 0 "
                         "validates on the test pairs as the tutorial does (default: "
                         f"{recipe_defaults('validation_split')}; "
                         f"{config.FOLDER_VALIDATION_SPLIT} for class folders without test/, "
                         "which have no test pairs)")
    ap.add_argument("--epochs", type=int, default=None,
                    help="number of passes over the training pairs (default: "
                         f"{recipe_defaults('epochs')})")
    ap.add_argument("--embedding-dim", type=int, default=None, metavar="N",
                    help="length of the sister network's embeddings (default: "
                         f"{recipe_defaults('embedding_dim')})")
    ap.add_argument("--batch-size", type=int, default=config.BATCH_SIZE,
                    help="pairs per training step, an even number: each image's positive and "
                         "negative pair travel together; with --pairs in_batch, half as many "
                         "images a step (a multiple of 4 then) and every pair between them "
                         f"(default: {config.BATCH_SIZE})")
    ap.add_argument("--learning-rate", type=float, default=None,
                    help="Adam's (initial) learning rate (default: "
                         f"{recipe_defaults('learning_rate')})")
    ap.add_argument("--weight-decay", type=float, default=None,
                    help="decoupled weight decay (AdamW) per step, relative to the learning "
                         f"rate; 0 is plain Adam (default: {recipe_defaults('weight_decay')})")
    ap.add_argument("--schedule", choices=("constant", "cosine"), default=None,
                    help="learning rate over the run: constant, or cosine (decays to 0 by the "
                         f"last step) (default: {recipe_defaults('schedule')})")


def add_loss_arguments(ap):
    # the loss and how its batches are made; None defaults as in add_recipe_arguments
    ap.add_argument("--loss", choices=tuple(LOSSES), default="binary_crossentropy",
                    help=f"{choices_help(LOSSES)}; files of a loss other than "
                         "binary_crossentropy get its name as a prefix")
    ap.add_argument("--margin", type=float, default=None,
                    help="margin of a loss that has one: how far apart different-class pairs "
                         f"are pushed (default: {recipe_defaults('margin')})")
    ap.add_argument("--pairs", choices=PAIRS, default=None,
                    help="how the pair losses get their pairs: drawn (the tutorial's: each "
                         "image with one positive and one negative partner drawn from all the "
                         "training images, in steps that share their images: about 1 sister "
                         "pass per pair) or in_batch (each image with every other image of "
                         "its batch, batches made of twos of a class; positives and negatives "
                         "weighted equally; 1 sister pass per image, 2.5x the speed on CPUs) "
                         "(default: "
                         f"{recipe_defaults('pairs')}; drawn under --strategy mirrored or "
                         "multiworker)")
    ap.add_argument("--mining", choices=MINING, default=None,
                    help="how a loss that mines its triplets in each batch picks them: "
                         "semi_hard, batch_hard, or random (the baseline) (default: "
                         f"{recipe_defaults('mining')})")
    ap.add_argument("--rotated-classes", action=argparse.BooleanOptionalAction, default=None,
                    help="also train on every class turned by 90, 180 and 270 degrees, each "
                         "turn a class of its own (a turned character is another character): "
                         "four times the classes, an epoch four times as long; for the losses "
                         "that make class-balanced batches, on square images (default: "
                         f"{recipe_defaults('rotated_classes')}; on only with such a loss)")


def add_run_arguments(ap):
    ap.add_argument("--output", default=None,
                    help="folder for the model (siamese_model/), the history plot (plot.png), "
                         "the per-epoch log (training_log.csv) and the ROC plot (roc.png) "
                         f"(default: {config.BASE_OUTPUT} for MNIST-style data, as in the "
                         f"tutorial; {config.BASE_OUTPUT}/NAME for class folders or zips, NAME "
                         "the first one's, so that the shipped models stay as they are)")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace a model in --output that was trained on other data (without "
                         "it, such a model is kept and training refuses to start)")
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
    ap.add_argument("--tensorboard", default=None, metavar="DIR",
                    help="also write TensorBoard's logs into DIR: the training curves (loss, "
                         "validation loss and accuracy, learning rate) each epoch and, at the "
                         "end, the embeddings of up to 200 validation images per class for "
                         "its projector; view them with tensorboard --logdir DIR (pip install "
                         "tensorboard)")
    ap.add_argument("--resume", action="store_true",
                    help="go on with the unfinished run in --output (one killed or stopped "
                         "before its last epoch), from where its state was last saved: the "
                         "same command plus --resume; without it, an unfinished run there is "
                         "refused, never overwritten")
    ap.add_argument("--checkpoint-minutes", type=float, default=config.CHECKPOINT_MINUTES,
                    metavar="MINUTES",
                    help="besides after every epoch, save the run's state within an epoch "
                         "once this many minutes have passed since the last save, so that a "
                         "kill in a long epoch loses at most that much; 0 saves after every "
                         f"{config.STEPS_PER_EXECUTION} steps (default: "
                         f"{config.CHECKPOINT_MINUTES:g})")
    ap.add_argument("--seed", type=int, default=None,
                    help="seed for the pairs, the weights and the shuffling, to make a run "
                         "repeatable (default: a fresh random run, as in the tutorial)")


def fill_recipe_defaults(args):
    """What the user left unsaid follows the chosen architecture's and loss's recipes."""
    architecture = architecture_named(args.architecture)
    # class folders without test/ have no test images: a held-out share validates
    if args.validation_split is None and is_class_folder_tree(args.dataset) \
            and not has_test_folder(args.dataset):
        args.validation_split = config.FOLDER_VALIDATION_SPLIT
    loss = loss_named(args.loss)
    if args.pairs is not None and loss.sampler != "pairs":
        raise ValueError(f"--pairs is for the pair losses; {args.loss} makes its own "
                         f"batches")
    if args.pairs is None and args.strategy != "default":
        args.pairs = "drawn"  # in_batch trains on one device only
    if args.rotated_classes is None:
        # the recipe's turns where they can be: class-balanced batches of square images
        square = args.image_size is None or args.image_size[0] == args.image_size[1]
        args.rotated_classes = (architecture.rotated_classes and loss.sampler == "classes"
                                and not loss.centres and square)
    for name in ("epochs", "learning_rate", "schedule", "augment", "validation_split",
                 "weight_decay", "pairs", "embedding_dim"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(architecture, name))
    if args.margin is None:
        # a loss without a margin records none; 1.0 keeps the value every run had before
        args.margin = loss.margin or 1.0
    if args.mining is None:
        args.mining = loss.mining


def check_arguments(args):
    # a value out of range is one [ERROR] line (run() prints it), as for bad data
    if args.epochs < 1:
        raise ValueError("--epochs must be at least 1")
    if args.embedding_dim < 1:
        raise ValueError("--embedding-dim must be at least 1")
    if not 0 <= args.checkpoint_minutes < float("inf"):
        raise ValueError("--checkpoint-minutes must be 0 or more")
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
    if (is_class_folder_tree(args.dataset) and not has_test_folder(args.dataset)
            and not args.validation_split):
        raise ValueError(f"--validation-split must lie strictly between 0 and 1: "
                         f"{dataset_name(args.dataset)} has no train/ and test/ folders, so "
                         f"a share of its "
                         f"images must validate")
    if args.image_size is not None:
        check_image_size(args.image_size, "--image-size")
    sampler = loss_named(args.loss).sampler_for(args.pairs)
    if args.resample_pairs and sampler != "pairs":
        raise ValueError(f"--resample-pairs is for the pair losses' drawn pairs; "
                         f"{args.loss} with --pairs {args.pairs} draws its batches afresh "
                         f"every epoch anyway")
    if sampler == "in_batch" and args.batch_size % 4:
        raise ValueError("--batch-size must be a multiple of 4 with --pairs in_batch (twos "
                         "of a class, half as many images as pairs a step)")
    if args.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ValueError("--tensorboard needs the tensorboard package: pip install tensorboard")
    if sampler == "in_batch" and args.strategy != "default":
        raise ValueError("--pairs in_batch trains on one device; use --pairs drawn with "
                         f"--strategy {args.strategy}")
    if args.mining is not None and loss_named(args.loss).mining is None:
        raise ValueError(f"--mining is for a loss that mines triplets in its batches, not "
                         f"for {args.loss}")
    if args.rotated_classes and (sampler != "classes" or loss_named(args.loss).centres):
        # a loss with class centres would validate the classes as they are against the
        # centres of their turns
        raise ValueError(f"--rotated-classes is for the losses that compare the images of "
                         f"class-balanced batches (triplet, triplet_views, nca), not for "
                         f"{args.loss}")
    if args.rotated_classes and args.image_size and args.image_size[0] != args.image_size[1]:
        raise ValueError("--rotated-classes turns images by quarters, so it needs square "
                         "images (--image-size N N)")
