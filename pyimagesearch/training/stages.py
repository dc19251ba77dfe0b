"""The training script's first stages: the run (new or resumed), the data, TensorFlow, the
pairs (or class-balanced batches) and the compiled model, each announced by the tutorial's
[INFO] line. Nothing here imports TensorFlow before set_up_tensorflow, so that bad data is
refused at once."""
import os
from collections import namedtuple

from pyimagesearch import config
from pyimagesearch.cli import quiet_tensorflow
from pyimagesearch.data.image_folders import load_training_dataset
from pyimagesearch.models.recipes import loss_named

# the images of one run: train, validation and test halves as (images, labels); test is
# (None, None) for class folders without test/; validation is test unless a split was held
# out. rng is the run's one generator: the split, then every pair draw, take from it in turn;
# kind and ink say what the images are (pyimagesearch.data.augmentation.image_kind)
Data = namedtuple("Data", "train validation test class_names input_shape rng kind ink")


# the pairs of one run: the training and validation pipelines, the validation pairs as indices
Pairs = namedtuple("Pairs", "train_data validation_data validation")


# the run's checkpoint folder (pyimagesearch.training.checkpoints) and its state
Run = namedtuple("Run", "folder state")


def start_run(args, folder, resumed):
    """The run's checkpoint folder and state: the unfinished run's, or a new one (a run
    without --seed gets a drawn one, recorded, so that it can be resumed)."""
    import secrets

    from pyimagesearch.training.checkpoints import recipe_of

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
    from pyimagesearch.training.checkpoints import go_back_to, position
    from pyimagesearch.training.distributed import positions_of_workers

    where = min(positions_of_workers(strategy, position(run.state)))
    if where != position(run.state):
        print(f"[INFO] going back to epoch {where[0]}, which every worker has saved")
        return Run(run.folder, go_back_to(run.state, where))
    return run


def load_data(args):
    """Load the dataset (a dataset that cannot be used is refused before TensorFlow loads)
    and hold out the validation split when there is one."""
    import numpy as np

    from pyimagesearch.data.datasets import keep_classes, split_validation
    from pyimagesearch.data.pairs import input_shape_of

    if isinstance(args.dataset, str) and not os.path.exists(args.dataset):
        quiet_tensorflow(args.verbose)  # Keras's downloader loads TensorFlow
    ((trainX, trainY), (testX, testY), classNames) = load_training_dataset(
        args.dataset, args.image_size, args.color_mode, cache=args.cache_images,
        faces=args.images == "faces")
    if args.classes:
        (trainX, trainY) = keep_classes((trainX, trainY), args.classes, classNames)
        if testX is not None:
            (testX, testY) = keep_classes((testX, testY), args.classes, classNames,
                                          "test images")
        print(f"[INFO] training on {len(args.classes)} classes: {', '.join(args.classes)} "
              f"({len(trainY):,} images)")
    # the data is usable: TensorFlow loads from here on (the augmentation's Keras layers)
    quiet_tensorflow(args.verbose)
    from pyimagesearch.data.augmentation import image_kind

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

    from pyimagesearch.training.callbacks import default_precision, get_strategy

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

    from pyimagesearch.data.pairs import make_pair_indices
    from pyimagesearch.data.samplers import (
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
    from pyimagesearch.data.samplers import TURNS

    return TURNS if args.rotated_classes else 1


def anchored_pairs(data, args, trainPairs, validationPairs, skip):
    """Under a tf.distribute strategy, which splits every input of a batch: each image with
    its positive and negative partner, a step of batch-size / 2 of them (the training pairs
    in a new order each epoch, or drawn anew with --resample-pairs)."""
    from pyimagesearch.data.pairs import pair_dataset, pairs_by_anchor, resampled_pair_dataset

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
    from pyimagesearch.data.samplers import lone_classes

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
    import functools

    import numpy as np

    from pyimagesearch.data.augmentation import build_augmentation
    from pyimagesearch.data.samplers import steps_per_epoch
    from pyimagesearch.models.views import (
        build_anchor_model,
        build_class_centre_model,
        build_embedding_model,
        build_in_batch_model,
        build_shared_image_model,
    )
    from pyimagesearch.siamese_network import build_pair_model
    from pyimagesearch.training.callbacks import make_optimizer

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
    if loss.centres:
        view = functools.partial(build_class_centre_model,
                                 classes=int(np.max(data.train[1])) + 1)
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
