"""The one place that knows how a trained siamese model is laid out on disk.

A model is a TensorFlow SavedModel directory (written with Keras's ExportArchive, read back
with tf.saved_model.load, as Keras 3 requires) with three endpoints: `serve` (a pair of image
batches in, their scores out), `embed` (a batch of images in, their float32 embeddings out)
and `score_embeddings` (a pair of embedding batches in, their scores out). Beside it, a small
metadata.json says how to read the scores; it describes the model, the SavedModel's own
signature decides its input.
"""
import contextlib
import errno
import json
import math
import os
import secrets
import shutil

import numpy as np

from pyimagesearch.data.images import color_mode_of
from pyimagesearch.models.recipes import LOSSES, SCORE_KINDS

METADATA_FILE = "metadata.json"
# what a model exported without metadata (the tutorial's own) is taken to be
DEFAULT_METADATA = {"loss": "binary_crossentropy", "score": "similarity", "threshold": 0.5,
                    "input_shape": [28, 28, 1]}


class ModelError(ValueError):
    """A model path that is missing or does not hold a usable siamese SavedModel."""


def export_model(model, path, invert=False):
    """Write the pair model as a SavedModel at path with the `serve` and `embed` endpoints,
    computing in float32 whatever the precision it was trained in. With invert (a model
    trained on dark ink on light paper, read inverted), both endpoints take the images as they
    are and invert them first."""
    with computing_in_float32(model):
        _export(model, path, invert)


@contextlib.contextmanager
def computing_in_float32(model):
    """Every layer of model computes in float32 inside the block, and as before after it.

    A model trained in mixed_bfloat16 keeps float32 weights; exported as it is, its graph
    would compute in bfloat16: emulated where the hardware lacks it (most laptops), and
    refused by oneDNN held to AVX2."""
    layers = list(model._flatten_layers(include_self=True, recursive=True))
    before = [layer.dtype_policy for layer in layers]
    try:
        for layer in layers:
            if layer.dtype_policy.compute_dtype != "float32":
                layer.dtype_policy = "float32"
        yield model
    finally:
        for (layer, policy) in zip(layers, before):
            layer.dtype_policy = policy


def _export(model, path, invert):
    import keras
    import tensorflow as tf

    sister = model.get_layer("sister_network")
    shape = (None, *model.inputs[0].shape[1:])
    seen = (lambda images: 1.0 - images) if invert else (lambda images: images)
    archive = keras.export.ExportArchive()
    archive.track(model)
    # one argument, the pair of image batches, as Keras's own export of the model takes it
    # training=False spelled out: called inside a traced function, Keras would otherwise
    # run batch normalisation in training mode (batch statistics, moving averages updated)
    archive.add_endpoint("serve", lambda pair: model([seen(pair[0]), seen(pair[1])],
                                                     training=False),
                         input_signature=[[tf.TensorSpec(shape, tf.float32, name=name)
                                           for name in ("image_a", "image_b")]])
    archive.add_endpoint("embed", lambda images: sister(seen(images), training=False),
                         input_signature=[tf.TensorSpec(shape, tf.float32, name="images")])
    # the head alone, for pairs of embeddings already computed (a gallery's): the same
    # distance and head as `serve`, without embedding the images again
    from pyimagesearch.models.views import sister_and_scorer

    (_, score) = sister_and_scorer(model)
    dim = sister.outputs[0].shape[-1]
    archive.add_endpoint("score_embeddings",
                         lambda pair: score(pair[0], pair[1]),
                         input_signature=[[tf.TensorSpec((None, dim), tf.float32, name=name)
                                           for name in ("embedding_a", "embedding_b")]])
    archive.write_out(path, verbose=False)


def save_model(model, modelPath, metadata=None):
    """Export model as a SavedModel at modelPath without ever losing the model already there.

    The new model is written beside the old one and swapped in only once it is complete, so an
    interrupted or failed export leaves the previous model intact.
    """
    modelPath = os.path.normpath(modelPath)
    os.makedirs(os.path.dirname(os.path.abspath(modelPath)), exist_ok=True)
    recover(modelPath)
    check_replaceable(modelPath)
    # unique per save, even for two saves in one process
    partial = f"{modelPath}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        try:
            export_model(model, partial,
                         invert=(metadata or {}).get("ink") == "dark_on_light")
        except Exception as e:  # TensorFlow's own errors for a failed write (a full disk)
            if isinstance(e, OSError) or not hasattr(e, "message"):
                raise
            raise OSError(f"could not write the model to {modelPath} "
                          f"({e.message.strip().split(';')[-1].strip()}); the model already "
                          f"there, if any, is kept") from None
        with open(os.path.join(partial, METADATA_FILE), "w") as f:
            json.dump({**DEFAULT_METADATA, **(metadata or {})}, f, indent=2, sort_keys=True)
        _swap_in(partial, modelPath)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _swap_in(newPath, modelPath, attempts=20):
    # Another process saving to the same path can put its model in place between our two
    # renames; then ours finds the path taken, moves that one aside too and tries again.
    # The last model swapped in stays, and no process loses its model halfway.
    for attempt in range(attempts):
        old = f"{modelPath}.old-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.rename(modelPath, old)
        except FileNotFoundError:
            pass
        try:
            os.rename(newPath, modelPath)
            return
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == attempts - 1:
                if os.path.lexists(old) and not os.path.lexists(modelPath):
                    os.rename(old, modelPath)
                raise
        finally:
            if os.path.isdir(old):
                shutil.rmtree(old, ignore_errors=True)
            elif os.path.lexists(old):
                os.remove(old)


def is_saved_model(path):
    """Whether path is a folder this project wrote a model into (a SavedModel)."""
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def check_replaceable(modelPath):
    """Raise ModelError when something other than a saved model is at modelPath: a folder
    of the user's is never deleted to make room for a model."""
    if os.path.lexists(modelPath) and not is_saved_model(modelPath):
        raise ModelError(f"{modelPath} exists and is not a saved siamese model: move it away "
                         f"or choose another --output")


def recover(modelPath):
    """Undo what a save killed halfway left: where the path is empty and the previous model
    waits beside it (a kill between the save's two renames), it goes back; the leftovers of
    killed saves (.partial-*, .old-* of processes that are gone) are removed. Returns
    whether a model was put back."""
    (parent, name) = os.path.split(os.path.abspath(modelPath))
    if not os.path.isdir(parent):
        return False
    leftovers = []
    for entry in os.scandir(parent):
        for kind in ("partial", "old"):
            # NAME.partial-PID-HEX, NAME.old-PID-HEX (save_model's, _swap_in's)
            if entry.name.startswith(f"{name}.{kind}-") and not process_alive(
                    entry.name[len(name) + len(kind) + 2:].split("-")[0]):
                leftovers.append((kind, entry.path))
    restored = False
    for (kind, path) in sorted(leftovers):
        if kind == "old" and not os.path.lexists(modelPath) and is_saved_model(path):
            os.rename(path, modelPath)
            restored = True
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
    return restored


def process_alive(pid):
    """Whether the process numbered pid (text) is running; False for no number."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def update_metadata(modelPath, updates):
    """Add or replace entries of a saved model's metadata.json (written atomically)."""
    metadata = {**read_metadata(modelPath), **updates}
    path = os.path.join(modelPath, METADATA_FILE)
    partial = f"{path}.partial-{os.getpid()}"
    try:
        with open(partial, "w") as f:
            json.dump(metadata, f, indent=2, sort_keys=True)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return metadata


def read_metadata(modelPath):
    """The model's metadata, with the tutorial's defaults for anything it does not say."""
    path = os.path.join(modelPath, METADATA_FILE)
    metadata = {}
    if os.path.isfile(path):
        try:
            with open(path) as f:
                metadata = json.load(f)
        except (OSError, ValueError) as e:
            raise ModelError(f"{path} is not readable JSON ({e})") from None
        if not isinstance(metadata, dict):
            raise ModelError(f"{path} does not hold a JSON object")
    metadata = {**DEFAULT_METADATA, **metadata}
    check_metadata(metadata, path)
    # models from before colour: grayscale, as their one channel says
    metadata.setdefault("color_mode", color_mode_of(metadata["input_shape"][2]))
    return metadata


def _is_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def check_threshold(threshold, scoreKind, where="--threshold"):
    """Raise ValueError unless threshold is a usable decision threshold for scoreKind: a
    finite similarity in [0, 1], or a finite distance of at least 0."""
    if not _is_number(threshold):
        raise ValueError(f"{where} must be a finite number, got {threshold!r}")
    if scoreKind == "similarity" and not 0 <= threshold <= 1:
        raise ValueError(f"{where} must lie in [0, 1] for a similarity, got {threshold!r}")
    if scoreKind == "distance" and threshold < 0:
        raise ValueError(f"{where} must be at least 0 for a distance, got {threshold!r}")


def check_metadata(metadata, path=METADATA_FILE):
    """Raise ModelError naming the field and the file for the first field of metadata that
    has a wrong type or value (the fields the scripts rely on)."""
    def bad(field, why):
        raise ModelError(f"{path}: field {field!r} {why}, got {metadata[field]!r}")

    if metadata["score"] not in SCORE_KINDS:
        bad("score", f"must be one of {', '.join(SCORE_KINDS)}")
    if metadata["loss"] not in LOSSES:
        bad("loss", f"must be one of {', '.join(LOSSES)}")
    try:
        check_threshold(metadata["threshold"], metadata["score"])
    except ValueError:
        bad("threshold", "must be a finite number: a similarity in [0, 1] or a distance of "
                         "at least 0")
    shape = metadata["input_shape"]
    if (not isinstance(shape, list) or len(shape) != 3
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                       for d in shape)):
        bad("input_shape", "must be [height, width, channels] of positive integers")
    if shape[2] not in (1, 3):
        bad("input_shape", "must have 1 (grayscale) or 3 (rgb) channels")
    if "color_mode" in metadata and metadata["color_mode"] != color_mode_of(shape[2]):
        bad("color_mode", f"must be {color_mode_of(shape[2])} for an "
                          f"input_shape of {shape[2]} channel(s)")
    names = metadata.get("class_names")
    if names is not None and not (isinstance(names, list)
                                  and all(isinstance(name, str) for name in names)):
        bad("class_names", "must be a list of class names or null")
    if metadata.get("margin") is not None and not (_is_number(metadata["margin"])
                                                   and metadata["margin"] > 0):
        bad("margin", "must be a positive number or null")


def check_model_path(modelPath):
    """Raise ModelError unless modelPath is a directory (a cheap check, before TensorFlow);
    a model left beside its path by a save killed halfway is put back first."""
    if not os.path.isdir(modelPath):
        recover(modelPath)
    if not os.path.isdir(modelPath):
        raise ModelError(f"no model at {modelPath}: train one with "
                         f"train_siamese_network.py or pass --model PATH")


class SiameseModel:
    """A trained siamese SavedModel, loaded for scoring pairs of images."""

    def __init__(self, modelPath):
        check_model_path(modelPath)
        self.path = modelPath
        self.metadata = read_metadata(modelPath)
        import tensorflow as tf
        try:
            self._model = tf.saved_model.load(modelPath)
            self._serve = self._model.serve
            (specA, specB) = self._serve.concrete_functions[0].structured_input_signature[0][0]
        except Exception as e:  # TensorFlow raises many types for a damaged SavedModel
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{modelPath} is not a readable siamese SavedModel "
                             f"({reason})") from None
        # the SavedModel's own signature decides the input; the metadata must agree with it
        self.input_shape = tuple(int(d) for d in specA.shape[1:])
        self.input_dtype = specA.dtype.as_numpy_dtype
        if list(self.input_shape) != self.metadata["input_shape"]:
            raise ModelError(f"{os.path.join(modelPath, METADATA_FILE)}: field 'input_shape' "
                             f"says {self.metadata['input_shape']} but the SavedModel takes "
                             f"{list(self.input_shape)}")
        self._embed = getattr(self._model, "embed", None)
        self._score_embeddings = getattr(self._model, "score_embeddings", None)

    @property
    def has_embed(self):
        """Whether the SavedModel has the `embed` endpoint (older exports do not)."""
        return self._embed is not None

    def check_embed(self):
        """Raise ModelError, naming the tool that adds it, when there is no embed endpoint."""
        if not self.has_embed:
            raise ModelError(f"{self.path} has no embed endpoint (exported by an older "
                             f"version): re-export it with python -m tools.upgrade_model "
                             f"{self.path} (tools/upgrade_model.py)")

    @property
    def has_score_embeddings(self):
        """Whether the SavedModel scores pairs of embeddings (exports before it did not)."""
        return self._score_embeddings is not None

    def score_embeddings(self, embeddingsA, embeddingsB, batchSize=4096):
        """The scores (n,) of pairs of embeddings (as `embed` gives them), through the model's
        own distance and head: what `serve` gives for the pairs of images they came from."""
        embeddingsA = np.asarray(embeddingsA, np.float32)
        embeddingsB = np.asarray(embeddingsB, np.float32)
        scores = [np.asarray(self._score_embeddings([embeddingsA[start:start + batchSize],
                                                     embeddingsB[start:start + batchSize]]),
                             np.float64).reshape(-1)
                  for start in range(0, len(embeddingsA), batchSize)]
        return np.concatenate(scores) if scores else np.zeros(0)

    @property
    def variables(self):
        """The SavedModel's variables, in the order of the Keras model that was exported."""
        return self._model.variables

    def embed(self, images, batchSize=256):
        """The embeddings (n, embeddingDim) of a batch of images (n, height, width, channels),
        as float32, through the SavedModel's `embed` endpoint."""
        self.check_embed()
        images = np.asarray(images, self.input_dtype)
        if images.shape[1:] != self.input_shape:
            raise ValueError(f"the model takes images shaped {self.input_shape}, got "
                             f"{images.shape[1:]}")
        embeddings = [np.asarray(self._embed(images[start:start + batchSize]))
                      for start in range(0, len(images), batchSize)]
        return np.concatenate(embeddings) if embeddings else np.zeros((0, 0), np.float32)

    def score_batch(self, imagesA, imagesB):
        """The scores (n,) of one batch of pairs through the `serve` endpoint."""
        imagesA = np.asarray(imagesA, self.input_dtype)
        imagesB = np.asarray(imagesB, self.input_dtype)
        if imagesA.shape[1:] != self.input_shape:
            raise ValueError(f"the model takes images shaped {self.input_shape}, got "
                             f"{imagesA.shape[1:]}")
        scores = self._serve([imagesA, imagesB])
        if isinstance(scores, dict):
            scores = next(iter(scores.values()))
        scores = np.asarray(scores, np.float64)
        if scores.size != len(imagesA):
            raise ModelError(f"{self.path} gives {scores.size // max(1, len(imagesA))} "
                             f"outputs per pair, not one score: it is not a siamese model "
                             f"of this project")
        return scores.reshape(-1)

    def score_pairs(self, images, pairIdx, batchSize=256):
        """The scores (n,) of the pairs pairIdx (n, 2) of images (see pairs.score_pairs)."""
        from pyimagesearch.data.pairs import score_pairs

        return score_pairs(self.score_batch, images, pairIdx, batchSize)

    def predict(self, imagesA, imagesB, batchSize=256):
        """Score pairs in one call: imagesA[i] against imagesB[i]; returns a float array (n,).

        Large inputs go through the model batchSize pairs at a time to bound memory.
        """
        imagesA = np.asarray(imagesA, self.input_dtype)
        imagesB = np.asarray(imagesB, self.input_dtype)
        if imagesA.shape != imagesB.shape:
            raise ValueError(f"imagesA {imagesA.shape} and imagesB {imagesB.shape} differ")
        count = len(imagesA)
        pairIdx = np.stack([np.arange(count), count + np.arange(count)], axis=1)
        return self.score_pairs(np.concatenate([imagesA, imagesB]), pairIdx, batchSize)


def model_fingerprint(modelPath):
    """A short digest of a saved model's graph and weights (not its metadata.json, whose
    threshold may be recorded again): the same for the same model wherever it lies."""
    import hashlib

    digest = hashlib.sha256()
    variables = os.path.join(modelPath, "variables")
    files = [os.path.join(modelPath, "saved_model.pb")]
    if os.path.isdir(variables):
        files += sorted(os.path.join(variables, name) for name in os.listdir(variables))
    for path in files:
        digest.update(os.path.basename(path).encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
