"""Train the siamese network of the tutorial on MNIST pairs (or pairs of your own images).

USAGE
    python train_siamese_network.py
    python train_siamese_network.py --dataset path/to/mnist.npz --epochs 10
    python train_siamese_network.py --dataset my_photos --image-size 64 64 --color-mode rgb

Each stage is a function of its own, announced by the tutorial's [INFO] line; what an
architecture or a loss means (its defaults, its head, its file names) is its entry in
pyimagesearch/recipes.py.
"""
# import the necessary packages
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from collections import namedtuple

from pyimagesearch import config
from pyimagesearch.checkpoints import TrainingLock, check_resume, state_folder
from pyimagesearch.cli import add_verbose_argument, quiet_tensorflow, run
from pyimagesearch.config import DARK_BACKGROUND, IMAGE_KINDS, LIGHT_BACKGROUND, LIGHT_INK
from pyimagesearch.image_folders import (
    MAX_IMAGE_SIDE,
    MIN_IMAGE_SIDE,
    check_image_size,
    dataset_name,
    has_test_folder,
    is_class_folder_tree,
    load_training_dataset,
    resolve_dataset,
)
from pyimagesearch.images import COLOR_MODES
from pyimagesearch.recipes import (
    ARCHITECTURES,
    LOSSES,
    MINING,
    PAIRS,
    architecture_named,
    choices_help,
    loss_named,
    recipe_defaults,
)

# the images of one run: train, validation and test halves as (images, labels); test is
# (None, None) for class folders without test/; validation is test unless a split was held
# out. rng is the run's one generator: the split, then every pair draw, take from it in turn;
# kind and ink say what the images are (pyimagesearch.augmentation.image_kind)
Data = namedtuple("Data", "train validation test class_names input_shape rng kind ink")
# the pairs of one run: the training and validation pipelines, the validation pairs as indices
Pairs = namedtuple("Pairs", "train_data validation_data validation")
# the run's checkpoint folder (pyimagesearch.checkpoints) and its state
Run = namedtuple("Run", "folder state")


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
    from pyimagesearch.model_io import METADATA_FILE, check_replaceable, read_metadata

    modelPath = config.output_paths(args.output, args.loss, args.architecture)[0]
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
                         "applies that rule, the others override it; metadata.json records "
                         "the choice (default: auto)")
    ap.add_argument("--cache-images", choices=("auto", "always", "never"), default="auto",
                    help="keep class-folder images in memory once decoded (at the model's "
                         "size, as uint8) instead of decoding every batch: auto does when "
                         f"decoding takes {config.CACHE_DECODE_MS:g} ms or more per image (large "
                         f"photos) and they fit in {config.CACHE_MB} MB (default: auto)")


def add_recipe_arguments(ap):
    # every default left as None here is the chosen recipe's (pyimagesearch/recipes.py)
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
                                and square)
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
    if args.rotated_classes and sampler != "classes":
        raise ValueError(f"--rotated-classes is for the losses that make class-balanced "
                         f"batches (triplet, triplet_views, nca), not for {args.loss}")
    if args.rotated_classes and args.image_size and args.image_size[0] != args.image_size[1]:
        raise ValueError("--rotated-classes turns images by quarters, so it needs square "
                         "images (--image-size N N)")


def main(argv=None):
    args = parse_args(argv)
    multiworker = args.strategy == "multiworker"
    from pyimagesearch.distributed import cluster_config, is_chief, task_name
    if multiworker and args.seed is None and sum(map(len, cluster_config()[0].values())) > 1:
        raise ValueError("--strategy multiworker needs --seed (the same on every worker), so "
                         "that every worker draws the same pairs")
    check_output_is_free(args)
    # only the chief writes into --output; the other workers write into a scratch folder
    # that they remove at the end, all but the run's state, which each keeps in --output
    writes = not multiworker or is_chief()
    output = args.output if writes else tempfile.mkdtemp()
    modelPath = config.output_paths(args.output, args.loss, args.architecture)[0]
    stateFolder = state_folder(modelPath, None if writes else task_name())
    made = not os.path.exists(args.output)
    try:
        with TrainingLock(output):
            model = train(args, output, stateFolder, check_resume(stateFolder, args))
    finally:
        if output != args.output:
            shutil.rmtree(output, ignore_errors=True)
            if made and os.path.isdir(args.output) and not os.listdir(args.output):
                os.rmdir(args.output)
    if multiworker:
        from pyimagesearch.distributed import weights_checksum
        print(f"[INFO] weights checksum: {weights_checksum(model)}")


def train(args, output, stateFolder, resumed=None):
    """The tutorial's story, one stage after another; returns the trained pair model. The
    run's state is saved into stateFolder; resumed is the state of the unfinished run there
    to go on with (checkpoints.check_resume)."""
    paths = config.output_paths(output, args.loss, args.architecture)
    run = start_run(args, stateFolder, resumed)
    data = load_data(args)
    (precision, strategy) = set_up_tensorflow(args)
    if args.strategy == "multiworker":
        run = agree_across_workers(run, strategy)
    pairs = prepare_pairs(data, args, skip=run.state["epochs_done"])
    (model, trainer, augmentation, validator) = build_and_compile(data, args, strategy)
    (history, epochKept) = fit(trainer, pairs, args, run, data.class_names is not None,
                               validator)
    (evaluation, choice) = evaluate(model, data, pairs, args)
    save(model, paths[0], model_metadata(args, data, evaluation, choice, precision,
                                         augmentation, len(history.history["loss"]),
                                         epochKept), run, paths[2])
    plot(model, history, evaluation, data, args, paths)
    print(f"[INFO] wrote the model to {paths[0]}, its log to {paths[2]} and its plots to "
          f"{', '.join(path for path in (paths[1], paths[3], paths[4]) if os.path.exists(path))}")
    return model


def start_run(args, folder, resumed):
    """The run's checkpoint folder and state: the unfinished run's, or a new one (a run
    without --seed gets a drawn one, recorded, so that it can be resumed)."""
    import secrets

    from pyimagesearch.checkpoints import recipe_of

    if resumed is not None:
        args.seed = resumed["seed"]
        steps = (f" and {resumed['steps_done']} steps of the next"
                 if resumed.get("steps_done") else "")
        print(f"[INFO] resuming the unfinished run in {folder}: {resumed['epochs_done']} of "
              f"{args.epochs} epochs done{steps}")
        return Run(folder, resumed)
    if args.seed is None:
        args.seed = secrets.randbelow(2 ** 31)
    # written when the training starts (fit): bad data refused before then leaves nothing
    return Run(folder, {"recipe": recipe_of(args), "seed": args.seed, "epochs_done": 0})


def agree_across_workers(run, strategy):
    """The run as every worker of the cluster can go on with it: from the save that all of
    them hold (a kill can catch one worker a save behind the others, each keeps the save
    before its last), or from the start when none resumes."""
    from pyimagesearch.checkpoints import go_back_to, position
    from pyimagesearch.distributed import positions_of_workers

    where = min(positions_of_workers(strategy, position(run.state)))
    if where != position(run.state):
        print(f"[INFO] going back to epoch {where[0]}, which every worker has saved")
        return Run(run.folder, go_back_to(run.state, where))
    return run


def load_data(args):
    """Load the dataset (a dataset that cannot be used is refused before TensorFlow loads)
    and hold out the validation split when there is one."""
    import numpy as np

    from pyimagesearch.augmentation import image_kind
    from pyimagesearch.datasets import keep_classes, split_validation
    from pyimagesearch.pairs import input_shape_of

    if isinstance(args.dataset, str) and not os.path.exists(args.dataset):
        quiet_tensorflow(args.verbose)  # Keras's downloader loads TensorFlow
    ((trainX, trainY), (testX, testY), classNames) = load_training_dataset(
        args.dataset, args.image_size, args.color_mode, cache=args.cache_images)
    if args.classes:
        (trainX, trainY) = keep_classes((trainX, trainY), args.classes, classNames)
        if testX is not None:
            (testX, testY) = keep_classes((testX, testY), args.classes, classNames,
                                          "test images")
        print(f"[INFO] training on {len(args.classes)} classes: {', '.join(args.classes)} "
              f"({len(trainY):,} images)")
    (kind, ink) = image_kind(trainX, args.color_mode, args.images)
    if ink == "dark_on_light":
        # read as MNIST is: bright strokes on a dark background (the saved model inverts
        # the images it is given, so that its users never do)
        print("[INFO] reading the images as handwriting: dark strokes on a light background, "
              "inverted")
        (trainX, testX) = (trainX.inverted(), testX.inverted() if testX is not None else None)
    (train, validation) = ((trainX, trainY), (testX, testY))
    rng = np.random.default_rng(args.seed)
    if args.validation_split:
        # the held-out images validate and choose; the test images only measure, at the end
        (keep, held) = split_validation(trainY, args.validation_split, rng, classNames)
        (train, validation) = ((trainX[keep], trainY[keep]), (trainX[held], trainY[held]))
        drawn = f"seed {args.seed}" if args.seed is not None else "no --seed: a new draw each run"
        print(f"[INFO] holding out {len(held):,} of {len(held) + len(keep):,} training images "
              f"({args.validation_split:.0%} of each class, {drawn}) as validation pairs; "
              + ("the test images only measure the model" if testX is not None else
                 "with no test/ folder, no pairs are left to measure the model on apart from "
                 "those that chose its epoch and threshold"))
    return Data(train, validation, (testX, testY), classNames, input_shape_of(trainX), rng,
                kind, ink)


def set_up_tensorflow(args):
    """Import TensorFlow only now (so that --help and bad arguments or data answer at once),
    seed it, pick the precision and the distribution strategy."""
    quiet_tensorflow(args.verbose)
    import keras

    from pyimagesearch.training import default_precision, get_strategy

    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    precision = args.precision or default_precision()
    keras.mixed_precision.set_global_policy(precision)
    strategy = get_strategy(args.strategy, args.worker_timeout)
    if args.strategy != "default":
        print(f"[INFO] {args.strategy} strategy over {strategy.num_replicas_in_sync} "
              f"replica(s)")
    return precision, strategy


def prepare_pairs(data, args, skip=0):
    """Prepare the positive and negative pairs, as indices into the uint8 images (each batch
    is gathered and scaled to [0, 1] on the fly). Each step's pairs share their images, so
    that an image is embedded once for all of its pairs in the step (under a tf.distribute
    strategy, which splits every input of a batch, each image travels with its two partners
    instead). With --pairs in_batch the training batches are images, each with every other
    image of its batch as a partner; the validation pairs are the same either way. A resumed
    run skips the draws of the epochs it has done."""
    import numpy as np

    from pyimagesearch.pairs import make_pair_indices
    from pyimagesearch.samplers import (
        class_balanced_dataset,
        in_batch_dataset,
        shared_image_dataset,
    )

    print("[INFO] preparing positive and negative pairs...")
    rng = data.rng
    ((trainX, trainY), (valX, valY)) = (data.train, data.validation)
    (pairTrain, labelTrain) = make_pair_indices(trainY, rng)
    (pairVal, labelVal) = make_pair_indices(valY, rng)
    loss = loss_named(args.loss)
    sampler = loss.sampler_for(args.pairs)
    if sampler == "classes":
        # single images in class-balanced batches, the loss mines its triplets in each
        if args.rotated_classes:
            classes = len(np.unique(trainY))
            print(f"[INFO] training on {turns(args) * classes:,} classes: each of the "
                  f"{classes:,} also turned by 90, 180 and 270 degrees")
        trainData = class_balanced_dataset(trainX, trainY, args.batch_size, seed=args.seed,
                                           views=loss.views, skip=skip, turns=turns(args))
        validationData = class_balanced_dataset(valX, valY, args.batch_size, seed=args.seed,
                                                fixed=True, views=loss.views)
        return Pairs(trainData, validationData, (pairVal, labelVal))
    if args.strategy != "default":
        return anchored_pairs(data, args, (pairTrain, labelTrain), (pairVal, labelVal), skip)
    # pairTrain is drawn even when resampling or training in_batch, so a seed gives the same
    # validation pairs every way (and the resampled first epoch equals the single draw)
    if sampler == "in_batch":
        trainData = in_batch_dataset(trainX, trainY, args.batch_size, seed=args.seed,
                                     skip=skip)
        warn_of_lone_classes(data)
    else:
        redraw = None
        if args.resample_pairs:
            # fresh pairs from a generator of their own, so that the test pairs stay as drawn
            redrawRng = rng.spawn(1)[0]
            redraw = lambda: make_pair_indices(trainY, redrawRng)  # noqa: E731
        trainData = shared_image_dataset(trainX, pairTrain, labelTrain, args.batch_size,
                                         seed=args.seed, redraw=redraw, skip=skip)
    validationData = shared_image_dataset(valX, pairVal, labelVal, args.batch_size,
                                          seed=args.seed, fixed=True)
    return Pairs(trainData, validationData, (pairVal, labelVal))


def turns(args):
    """How many turns of each class the training batches hold (--rotated-classes)."""
    from pyimagesearch.samplers import TURNS

    return TURNS if args.rotated_classes else 1


def anchored_pairs(data, args, trainPairs, validationPairs, skip):
    """Under a tf.distribute strategy, which splits every input of a batch: each image with
    its positive and negative partner, a step of batch-size / 2 of them (the training pairs
    in a new order each epoch, or drawn anew with --resample-pairs)."""
    from pyimagesearch.pairs import pair_dataset, pairs_by_anchor, resampled_pair_dataset

    ((trainX, trainY), (valX, _)) = (data.train, data.validation)
    anchorsPerStep = args.batch_size // 2
    trainData = (resampled_pair_dataset(trainX, trainY, anchorsPerStep, seed=args.seed,
                                        skip=skip)
                 if args.resample_pairs else
                 pair_dataset(trainX, *pairs_by_anchor(*trainPairs), anchorsPerStep,
                              shuffle=True, seed=args.seed, skip=skip))
    validationData = pair_dataset(valX, *pairs_by_anchor(*validationPairs), anchorsPerStep)
    return Pairs(trainData, validationData, validationPairs)


def warn_of_lone_classes(data):
    """Name the classes with a single training image: --pairs in_batch leaves them out."""
    from pyimagesearch.samplers import lone_classes

    lone = [str(data.class_names[label] if data.class_names else label)
            for label in lone_classes(data.train[1])]
    if lone:
        print(f"[WARNING] {len(lone)} class(es) with a single training image make no two "
              f"of a class, so --pairs in_batch leaves them out of training: "
              f"{', '.join(lone)} (--pairs drawn pairs such an image with itself)")


def build_and_compile(data, args, strategy):
    """Configure the siamese network and its training view (with the augmentation the data
    calls for, if any), then compile it with the loss's recipe; returns (model, trainer, the
    augmentation's kind or None, validator): with --pairs in_batch the validator is the view
    that measures the drawn validation pairs, otherwise None (the trainer does)."""
    from pyimagesearch.augmentation import build_augmentation
    from pyimagesearch.samplers import steps_per_epoch
    from pyimagesearch.siamese_network import (
        build_anchor_model,
        build_embedding_model,
        build_in_batch_model,
        build_pair_model,
        build_shared_image_model,
    )
    from pyimagesearch.training import make_optimizer

    print("[INFO] building siamese network...")
    loss = loss_named(args.loss)
    kind = data.kind if args.augment else None
    # several steps per call only on one device: under tf.distribute, Keras 3's multi-step
    # loop fails ("You must feed a value for placeholder tensor", keras-team/keras#19246)
    steps = config.STEPS_PER_EXECUTION if args.strategy == "default" else 1
    sampler = loss.sampler_for(args.pairs)
    # a tf.distribute strategy splits every input of a batch, which a step of shared images
    # (pairs that point into the images) cannot take
    pairView = build_shared_image_model if args.strategy == "default" else build_anchor_model
    view = {"classes": build_embedding_model, "in_batch": build_in_batch_model,
            "pairs": pairView}[sampler]
    validator = None
    with strategy.scope():
        model = build_pair_model(data.input_shape, args.embedding_dim, head=loss.head,
                                 architecture=args.architecture,
                                 unitEmbeddings=loss.unit_embeddings)
        augmentation = (build_augmentation(data.input_shape, args.seed, kind)
                        if kind else None)
        trainer = view(model, augmentation)

        # compile the model
        print("[INFO] compiling model...")
        (lossFunction, metrics) = loss.make(args.margin, args.mining,
                                            inBatch=sampler == "in_batch")
        totalSteps = args.epochs * steps_per_epoch(sampler, len(data.train[1]),
                                                   args.batch_size, data.train[1],
                                                   loss.views, turns(args))
        optimizer = make_optimizer(args.learning_rate, args.schedule, args.weight_decay,
                                   totalSteps)
        trainer.compile(loss=lossFunction, optimizer=optimizer, metrics=metrics,
                        steps_per_execution=steps)
        if sampler == "in_batch":
            validator = build_shared_image_model(model)
            (lossFunction, metrics) = loss.make(args.margin)
            validator.compile(loss=lossFunction, metrics=metrics, steps_per_execution=steps)
    return model, trainer, kind, validator


def fit(trainer, pairs, args, run, readsFiles, validator=None):
    """Train the model, saving the run's state after every epoch (a resumed run goes on from
    its last whole epoch); returns (history of every epoch, the epoch kept): the last, or with
    a validation split the one of lowest validation loss. A validator (a view of the same
    model) measures the validation pairs in the trainer's place."""
    import keras

    from pyimagesearch.checkpoints import begin, logged_history, restore
    from pyimagesearch.distributed import prepare_for_multiworker, worker_departures
    from pyimagesearch.training import StopOnInterrupt, file_read_failures

    (trainData, validationData) = (pairs.train_data, pairs.validation_data)
    multiworker = args.strategy == "multiworker"
    if multiworker:
        (trainData, validationData) = prepare_for_multiworker(trainer, trainData,
                                                              validationData)
    print("[INFO] training model...")
    (done, stepsDone) = (run.state["epochs_done"], run.state.get("steps_done", 0))
    if not done and not stepsDone:
        begin(run.folder, run.state)
    # across workers, an interrupt ends the run at once (multiworker_strategy's handlers):
    # finishing the epoch alone would leave the other workers waiting
    with StopOnInterrupt(enabled=not multiworker) as interrupt:
        (callbacks, keepBest, validationData) = training_callbacks(
            trainer, args, run, interrupt, validator, validationData)
        if done or stepsDone:
            restore(run.folder, run.state, trainer, keepBest)
        # trainData reshuffles (or redraws) itself every epoch; one progress line per epoch
        # in a log file
        with worker_departures(multiworker), file_read_failures(readsFiles) as readCheck:
            fitting = dict(validation_data=validationData, shuffle=False,
                           verbose=1 if sys.stdout.isatty() else 2,
                           callbacks=callbacks + [check for check in [readCheck] if check])
            if stepsDone:
                # the epoch a kill cut short first, on its own: its first pass is this
                # epoch's draw, less the steps already done
                if keepBest is not None:
                    keepBest.heldOver = True
                trainer.fit(trainData.skip(stepsDone), epochs=done + 1, initial_epoch=done,
                            **fitting)
                done += 1
                if keepBest is not None:
                    keepBest.heldOver = False
            if done < args.epochs and not trainer.stop_training:
                trainer.fit(trainData, epochs=args.epochs, initial_epoch=done, **fitting)
            elif stepsDone and keepBest is not None:
                keepBest.on_train_end()
    history = keras.callbacks.History()
    history.history = logged_history(run.folder)
    epochsRun = len(history.history.get("loss", []))
    if epochsRun < args.epochs:
        print(f"[INFO] training stopped after {epochsRun} of {args.epochs} epochs (add "
              f"--resume to the same command to go on)")
    if not args.validation_split:
        return history, epochsRun
    print(f"[INFO] keeping epoch {keepBest.best_epoch + 1}, of the lowest validation loss "
          f"({keepBest.best:.4f})")
    return history, keepBest.best_epoch + 1


def training_callbacks(trainer, args, run, interrupt, validator, validationData):
    """(callbacks, the kept-epoch keeper or None, the validation data fit gets): in the order
    that each sees what the ones before it add to an epoch's figures."""
    import keras

    from pyimagesearch.checkpoints import LOG_FILE, make_checkpoint_callback
    from pyimagesearch.training import (
        EpochTimer,
        KeepBest,
        LogLearningRate,
        ProgressBar,
        ValidateWith,
    )

    stopper = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(trainer, "stop_training",
                                                 interrupt.requested))
    # the log stays with the run's state until the model is saved beside it
    callbacks = [stopper, EpochTimer(), ProgressBar(args.epochs),
                 # appended to: a resumed run (fit perhaps called twice) goes on with it
                 keras.callbacks.CSVLogger(os.path.join(run.folder, LOG_FILE), append=True)]
    if validator is not None:
        # first, so that the log, the kept epoch and the history all see its figures
        callbacks.insert(0, ValidateWith(validator, validationData))
        validationData = None
    keepBest = None
    if args.validation_split:
        # with pairs of its own to choose on, keep the epoch that did best on them
        keepBest = KeepBest()
        callbacks.append(keepBest)
    if args.tensorboard:
        callbacks[1:1] = [LogLearningRate()]
        callbacks.append(keras.callbacks.TensorBoard(args.tensorboard, write_graph=False))
    # last: it saves what the others have seen of the epoch
    # within an epoch only on one device: each worker's clock would pick other steps
    everySeconds = (args.checkpoint_minutes * 60 if args.strategy != "multiworker" else None)
    callbacks.append(make_checkpoint_callback(run.folder, run.state, trainer, keepBest,
                                              everySeconds))
    return callbacks, keepBest, validationData


def evaluate(model, data, pairs, args):
    """Measure the model on the validation pairs (and, with a held-out split, on the test
    pairs); returns (the validation evaluation, where the threshold was chosen). The
    tutorial's similarity model keeps its 0.5, the others work at the threshold that is most
    accurate on the validation pairs."""
    from pyimagesearch.evaluation import choose_threshold, describe, evaluate_pairs, summary
    from pyimagesearch.pairs import make_pair_indices, score_pairs

    print("[INFO] evaluating siamese model...")
    loss = loss_named(args.loss)

    def score(images, pairIdx):
        # batch by batch through the model rather than predict, which under a tf.distribute
        # strategy would split the pairs across the workers
        return score_pairs(lambda a, b: model([a, b], training=False), images, pairIdx)

    (pairVal, labelVal) = pairs.validation
    evaluation = choose_threshold(score(data.validation[0], pairVal), labelVal, loss.score,
                                  loss.default_threshold(args.margin),
                                  loss.choose_threshold or bool(args.validation_split))
    print(f"[INFO] validation pairs: {describe(evaluation)}")
    choice = {"threshold_chosen_on": "test pairs (the tutorial's validation data)"}
    (testX, testY) = data.test
    if args.validation_split and testX is not None:
        (pairTest, labelTest) = make_pair_indices(testY, data.rng)
        testEvaluation = evaluate_pairs(score(testX, pairTest), labelTest, loss.score,
                                        evaluation["threshold"])
        print(f"[INFO] test pairs: {describe(testEvaluation)}")
        choice = {"test": summary(testEvaluation)}
    if args.validation_split:
        choice["threshold_chosen_on"] = (f"validation split: {len(data.validation[1])} "
                                         f"training images ({args.validation_split:g}), "
                                         f"seed {args.seed}")
    return evaluation, choice


def model_metadata(args, data, evaluation, choice, precision, augmentation, epochsRun,
                   epochKept):
    """What the test script and the tools need to read the model's output, and how it was
    trained (metadata.json)."""
    import keras
    import tensorflow as tf

    from pyimagesearch.evaluation import summary

    loss = loss_named(args.loss)
    return {
        "loss": args.loss, "score": loss.score, "threshold": evaluation["threshold"],
        "margin": args.margin if loss.margin is not None else None, "mining": args.mining,
        "input_shape": list(data.input_shape), "color_mode": args.color_mode,
        "class_names": data.class_names, "classes": args.classes,
        "dataset": args.sources[0] if len(args.sources) == 1 else args.sources,
        "epochs": epochsRun,
        "epoch_kept": epochKept, "batch_size": args.batch_size,
        "resample_pairs": args.resample_pairs,
        "pairs": args.pairs if loss.sampler == "pairs" else None,
        "rotated_classes": args.rotated_classes,
        "architecture": args.architecture, "embedding_dim": args.embedding_dim,
        "augment": args.augment, "augmentation": augmentation, "images": data.kind,
        "ink": data.ink,
        "learning_rate": args.learning_rate, "schedule": args.schedule,
        "weight_decay": args.weight_decay, "validation_split": args.validation_split,
        **choice, "seed": args.seed, "precision": precision, "strategy": args.strategy,
        "validation": summary(evaluation),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}


def save(model, modelPath, metadata, run, logPath):
    """Serialize the model to disk, with its metadata.json, then put the run's log beside
    it; a finished run's state goes, an interrupted one's stays for --resume."""
    from pyimagesearch.checkpoints import finish
    from pyimagesearch.model_io import save_model

    print("[INFO] saving siamese model...")
    save_model(model, modelPath, metadata)
    finish(run.folder, logPath, done=metadata["epochs"] >= run.state["recipe"]["epochs"])


def plot(model, history, evaluation, data, args, paths):
    """Plot the training history, the ROC curve and what the network learned: the validation
    images' embeddings, 200 of each class at most."""
    import numpy as np

    from pyimagesearch.embeddings import sample_per_class
    from pyimagesearch.pairs import embed_images
    from pyimagesearch.plotting import plot_embeddings, plot_roc
    from pyimagesearch.utils import plot_training

    (_, plotPath, _, rocPath, embeddingsPath) = paths
    print("[INFO] plotting training history...")
    plot_training(history, plotPath)
    plot_roc(evaluation, rocPath)
    (valX, valY) = data.validation
    shown = sample_per_class(valY, 200 * len(np.unique(valY)), seed=args.seed or 0)
    if len(shown) < 3:
        print(f"[INFO] {len(shown)} validation images are too few to draw their embeddings")
        return
    sister = model.get_layer("sister_network")
    embeddings = embed_images(lambda batch: sister(batch, training=False), valX, shown)
    plot_embeddings(embeddings, valY[shown], embeddingsPath, classNames=data.class_names)
    if args.tensorboard:
        from pyimagesearch.pairs import load_images
        from pyimagesearch.projector import write_projector

        folder = write_projector(args.tensorboard, embeddings, valY[shown],
                                 load_images(valX, shown), data.class_names)
        print(f"[INFO] wrote the embeddings of {len(shown)} validation images for "
              f"TensorBoard's projector to {folder}")


if __name__ == "__main__":
    run(main, "[ERROR] interrupted; the model was not saved (the previous one stays), the run's "
              "last save is kept for --resume")
