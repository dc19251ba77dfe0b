"""The recipes: one table of sister networks (--architecture) and one of losses (--loss).

Each entry says everything the rest of the project needs to know about it: how to build it,
the flags it fills in when the user leaves them unset, the prefix of its output files and how
its score is read. Adding an architecture is one builder module plus one ARCHITECTURES entry;
adding a loss is one loss function plus one LOSSES entry. Nothing here imports TensorFlow, so
that --help and bad arguments answer at once; builders and loss functions are named as
"module:function" and imported when first used.
"""
import importlib
import os
from dataclasses import dataclass

from pyimagesearch import config


def resolve(reference):
    """The object a "module:attribute" reference names (a callable is returned as it is)."""
    if callable(reference):
        return reference
    (module, _, attribute) = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Architecture:
    """A sister network and the training recipe it is at its best with."""
    name: str
    builder: object           # "module:function" (or a callable): (inputShape, embeddingDim)
    summary: str              # one phrase for --help
    epochs: int
    learning_rate: float      # Adam's (initial) rate
    schedule: str             # "constant", or "cosine" (decays to 0 by the last step)
    weight_decay: float       # decoupled (AdamW), relative to the rate; 0 is plain Adam
    validation_split: float   # share of the training images held out; 0: the test pairs
    augment: bool             # whether it augments its training images unless told
    prefix: str               # of its output files ("" for the tutorial's)
    # how a pair loss gets its pairs (PAIRS): "drawn" (the tutorial's make_pairs) or
    # "in_batch" (every pair of each batch of images: one sister pass per image)
    pairs: str = "drawn"
    # whether its class-balanced batches also hold every class turned by 90, 180 and 270
    # degrees as classes of their own (--rotated-classes)
    rotated_classes: bool = False
    # the length of its embeddings (--embedding-dim); 48 is the tutorial's
    embedding_dim: int = 48

    def build(self, inputShape, embeddingDim=48):
        """The sister network: an image of inputShape in, an embeddingDim-long vector out."""
        return resolve(self.builder)(inputShape, embeddingDim)


@dataclass(frozen=True)
class Loss:
    """A training loss, the head it needs and how the resulting model's score is read."""
    name: str
    function: object          # "module:function" (or a callable): margin -> (loss, metrics)
    summary: str              # one phrase for --help
    head: object              # "sigmoid" (a similarity in [0, 1]) or None (the distance)
    score: str                # "similarity" or "distance": what the saved model outputs
    margin: object            # default --margin, or None where the loss has none
    threshold: object         # the score's fixed threshold, or "margin/2" (half the margin)
    choose_threshold: bool    # always pick the most accurate threshold on validation pairs
    prefix: str               # of its output files ("" for the tutorial's)
    # what a training batch holds: "pairs" (the tutorial's positive and negative pairs) or
    # "classes" (class-balanced images, for a loss that mines its own triplets in the batch)
    sampler: str = "pairs"
    mining: object = None     # default --mining, or None where the loss does not mine
    # whether the embeddings must lie on the unit sphere (a sister network that does not end
    # there gets a UnitNormalization): a triplet loss on free embeddings can shrink them all
    # to one point, where every triplet costs exactly the margin
    unit_embeddings: bool = False
    views: int = 1            # with "classes": each image this many times in a batch
    # with "pairs": the loss over every pair of a batch ("module:function", margin -> (loss,
    # metrics)) for --pairs in_batch, or None where the loss has no such form
    in_batch: object = None
    # whether it learns a centre per training class (a margin softmax over identities): its
    # training view scores each image against the centres, not against the other images
    centres: bool = False

    def make(self, margin, mining=None, inBatch=False):
        """(Keras loss, metrics) ready for compile: for the drawn pairs (or the loss's own
        batches), or with inBatch for every pair of a batch."""
        if inBatch:
            return resolve(self.in_batch)(margin)
        if self.mining is None:
            return resolve(self.function)(margin)
        return resolve(self.function)(margin, mining or self.mining)

    def sampler_for(self, pairs):
        """What a training batch holds with --pairs pairs: "pairs" (drawn, sharing images),
        "in_batch" (images, every pair between them) or the loss's own "classes"."""
        return "in_batch" if self.sampler == "pairs" and pairs == "in_batch" else self.sampler

    def default_threshold(self, margin):
        """The threshold before (or instead of) a choice on the validation pairs."""
        return margin / 2 if self.threshold == "margin/2" else float(self.threshold)


ARCHITECTURES = {
    "tutorial": Architecture(
        "tutorial", "pyimagesearch.siamese_network:build_siamese_model",
        "the tutorial's two 2x2 convolutions, 19,888 parameters",
        epochs=config.EPOCHS, learning_rate=0.001, schedule="constant", weight_decay=0.0,
        validation_split=0.0, augment=False, prefix=""),
    "small_vgg": Architecture(
        "small_vgg", "pyimagesearch.models.small_vgg_network:build_small_vgg_model",
        "three blocks of 3x3 convolution, batch norm and max-pooling, ~150k parameters: "
        "accurate, and robust to digits from outside MNIST",
        # fewer epochs (its best in about 10 minutes on 2 CPU cores) at a higher rate,
        # decayed to zero (cosine): batch normalisation is what lets it take that rate; a
        # held-out split chooses its threshold and epoch so that the test pairs only measure
        epochs=12, learning_rate=0.01, schedule="cosine", weight_decay=5e-4,
        validation_split=0.1, augment=True, prefix="small_vgg_",
        # every pair of each batch: as accurate as drawn pairs, 2.4x the speed
        # (docs/speed-and-memory.md)
        pairs="in_batch"),
    "conv4": Architecture(
        "conv4", "pyimagesearch.models.conv4_network:build_conv4_model",
        "the few-shot literature's four blocks of 3x3 convolution (64 filters), batch norm "
        "and max-pooling, ~115k parameters: for characters and one-shot learning",
        # measured on Omniglot alphabets held out of training (docs/one-shot.md)
        epochs=60, learning_rate=0.003, schedule="cosine", weight_decay=5e-4,
        validation_split=0.1, augment=True, prefix="conv4_", pairs="in_batch"),
    "characters": Architecture(
        "characters", "pyimagesearch.models.character_network:build_character_model",
        "conv4 on drawings centred on their ink, each embedded at inference as the mean over "
        "nine small shifts of it: for handwritten characters and one-shot learning",
        # conv4's recipe, with every character also turned by quarters as three new ones: an
        # epoch four times as long, so a quarter of conv4's epochs is as many steps; measured
        # on Omniglot alphabets held out of training (docs/one-shot.md)
        epochs=15, learning_rate=0.003, schedule="cosine", weight_decay=5e-4,
        validation_split=0.1, augment=True, prefix="characters_", pairs="in_batch",
        rotated_classes=True),
    "faces": Architecture(
        "faces", "pyimagesearch.models.face_network:build_face_model",
        "small_vgg on faces aligned by their five landmarks, each embedded at inference as "
        "the mean of it and its mirror image: for face recognition (--images faces)",
        # small_vgg's recipe, longer (faces keep improving to 40 epochs); chosen on people
        # held out of training (docs/faces.md)
        epochs=40, learning_rate=0.01, schedule="cosine", weight_decay=5e-4,
        validation_split=0.1, augment=True, prefix="faces_", pairs="in_batch"),
}

LOSSES = {
    "binary_crossentropy": Loss(
        "binary_crossentropy", "pyimagesearch.models.losses:compile_binary_crossentropy",
        "the tutorial's: a sigmoid head outputs a similarity in [0, 1]",
        head="sigmoid", score="similarity", margin=None, threshold=0.5,
        choose_threshold=False, prefix="",
        in_batch="pyimagesearch.models.losses:compile_in_batch_binary_crossentropy"),
    "contrastive": Loss(
        "contrastive", "pyimagesearch.models.losses:compile_contrastive",
        "the follow-up post's: the model outputs the euclidean distance",
        head=None, score="distance", margin=1.0, threshold="margin/2",
        choose_threshold=True, prefix="contrastive_",
        in_batch="pyimagesearch.models.losses:compile_in_batch_contrastive"),
    "triplet": Loss(
        "triplet", "pyimagesearch.models.losses:compile_triplet",
        "FaceNet's, on class-balanced batches with triplets mined in each batch: the model "
        "outputs the distance",
        head=None, score="distance", margin=0.5, threshold="margin/2",
        choose_threshold=True, prefix="triplet_", sampler="classes", mining="semi_hard",
        unit_embeddings=True),
    "triplet_views": Loss(
        "triplet_views", "pyimagesearch.models.losses:compile_triplet_views",
        "the triplet loss plus one on two augmented views of each image, which keeps what "
        "tells images apart: carries further to classes never trained on",
        head=None, score="distance", margin=0.5, threshold="margin/2",
        choose_threshold=True, prefix="triplet_views_", sampler="classes",
        mining="semi_hard", unit_embeddings=True, views=2),
    "nca": Loss(
        "nca", "pyimagesearch.models.losses:compile_nca",
        "neighbourhood components analysis on class-balanced batches: each image's softmax "
        "over the others of its batch, trained to pick one of its class, the answer a "
        "one-shot run asks for: the model outputs the distance",
        head=None, score="distance", margin=None, threshold=0.5,
        choose_threshold=True, prefix="nca_", sampler="classes", unit_embeddings=True),
    "cosface": Loss(
        "cosface", "pyimagesearch.models.losses:compile_cosface",
        "CosFace's margin softmax over the training classes: a learnt centre per class, each "
        "image's cosine to its own lessened by the margin, as face recognition trains its "
        "embedders; the model outputs the distance",
        head=None, score="distance", margin=0.35, threshold=1.0, choose_threshold=True,
        prefix="cosface_", sampler="classes", unit_embeddings=True, centres=True),
}

# how a pair loss gets its pairs (Architecture.pairs, --pairs)
PAIRS = ("drawn", "in_batch")
# what a saved model's score can be
SCORE_KINDS = ("similarity", "distance")
# how a loss that mines its triplets in each batch picks them (pyimagesearch.models.losses)
MINING = ("semi_hard", "batch_hard", "random")


def recipe_defaults(field):
    """How --help states a recipe default: "100 for tutorial, 12 for small_vgg", or "48 for
    every architecture" where all agree."""
    table = ARCHITECTURES if field in Architecture.__dataclass_fields__ else LOSSES
    values = [(name, getattr(entry, field)) for (name, entry) in table.items()
              if getattr(entry, field) is not None]
    if len(values) == len(table) and len({value for (_, value) in values}) == 1:
        kind = "architecture" if table is ARCHITECTURES else "loss"
        return f"{_shown(values[0][1])} for every {kind}"
    return ", ".join(f"{_shown(value)} for {name}" for (name, value) in values)


def _shown(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def choices_help(table):
    """'name (default; summary), name (summary)' for a table's --help."""
    return "; ".join(f"{name} ({'default: ' if i == 0 else ''}{entry.summary})"
                     for (i, (name, entry)) in enumerate(table.items()))


def architecture_named(name):
    """The ARCHITECTURES entry called name; ValueError naming the choices otherwise."""
    return _entry(ARCHITECTURES, name, "architecture")


def loss_named(name):
    """The LOSSES entry called name; ValueError naming the choices otherwise."""
    return _entry(LOSSES, name, "loss")


def _entry(table, name, what):
    if name not in table:
        raise ValueError(f"{what} must be one of {', '.join(table)}, got {name!r}")
    return table[name]


def output_paths(baseOutput=config.BASE_OUTPUT, loss="binary_crossentropy",
                 architecture="tutorial"):
    """Return (model, plot, log, ROC plot, embeddings plot) paths under baseOutput for a model
    of architecture trained with loss.

    With the defaults these are config.MODEL_PATH, PLOT_PATH, LOG_PATH, ROC_PATH and
    EMBEDDINGS_PATH; other recipes prefix them, the architecture's prefix first, then the
    loss's: config.SMALL_VGG_MODEL_PATH, CONTRASTIVE_MODEL_PATH, ...
    """
    prefix = architecture_named(architecture).prefix + loss_named(loss).prefix
    return tuple(os.path.join(baseOutput, prefix + os.path.basename(path))
                 for path in (config.MODEL_PATH, config.PLOT_PATH, config.LOG_PATH,
                              config.ROC_PATH, config.EMBEDDINGS_PATH))
