"""The one place that knows how a trained siamese model is laid out on disk.

A model is a TensorFlow SavedModel directory (written with model.export, read back with
tf.saved_model.load, as Keras 3 requires) holding, besides the SavedModel itself, a small
metadata.json that says how to read the model's output.
"""
import json
import os
import shutil

import numpy as np

METADATA_FILE = "metadata.json"
# what a model exported without metadata (the tutorial's own) is taken to be
DEFAULT_METADATA = {"loss": "binary_crossentropy", "score": "similarity", "threshold": 0.5,
                    "input_shape": [28, 28, 1]}


class ModelError(ValueError):
    """A model path that is missing or does not hold a usable siamese SavedModel."""


def save_model(model, modelPath, metadata=None):
    """Export model as a SavedModel at modelPath without ever losing the model already there.

    The new model is written beside the old one and swapped in only once it is complete, so an
    interrupted or failed export leaves the previous model intact.
    """
    modelPath = os.path.normpath(modelPath)
    os.makedirs(os.path.dirname(os.path.abspath(modelPath)), exist_ok=True)
    partial = f"{modelPath}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        model.export(partial, format="tf_saved_model", verbose=False)
        with open(os.path.join(partial, METADATA_FILE), "w") as f:
            json.dump({**DEFAULT_METADATA, **(metadata or {})}, f, indent=2, sort_keys=True)
        _swap_in(partial, modelPath)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _swap_in(newPath, modelPath):
    old = f"{modelPath}.old-{os.getpid()}"
    if os.path.lexists(modelPath):
        os.rename(modelPath, old)
    try:
        os.rename(newPath, modelPath)
    except BaseException:
        if os.path.lexists(old):
            os.rename(old, modelPath)
        raise
    if os.path.isdir(old):
        shutil.rmtree(old)
    elif os.path.lexists(old):
        os.remove(old)


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
    if not os.path.isfile(path):
        return dict(DEFAULT_METADATA)
    try:
        with open(path) as f:
            metadata = json.load(f)
    except (OSError, ValueError) as e:
        raise ModelError(f"{path} is not readable JSON ({e})") from None
    if not isinstance(metadata, dict):
        raise ModelError(f"{path} does not hold a JSON object")
    return {**DEFAULT_METADATA, **metadata}


def check_model_path(modelPath):
    """Raise ModelError unless modelPath is a directory (a cheap check, before TensorFlow)."""
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
        except Exception as e:  # TensorFlow raises many types for a damaged SavedModel
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{modelPath} is not a readable siamese SavedModel "
                             f"({reason})") from None

    @property
    def input_shape(self):
        return tuple(self.metadata["input_shape"])

    def predict(self, imagesA, imagesB, batchSize=1024):
        """Score pairs in one call: imagesA[i] against imagesB[i]; returns a float array (n,).

        Large inputs go through the model batchSize pairs at a time to bound memory.
        """
        imagesA = np.asarray(imagesA, np.float32)
        imagesB = np.asarray(imagesB, np.float32)
        if imagesA.shape != imagesB.shape:
            raise ValueError(f"imagesA {imagesA.shape} and imagesB {imagesB.shape} differ")
        if imagesA.shape[1:] != self.input_shape:
            raise ValueError(f"the model takes images shaped {self.input_shape}, got "
                             f"{imagesA.shape[1:]}")
        scores = []
        for start in range(0, len(imagesA), batchSize):
            batch = self._serve([imagesA[start:start + batchSize],
                                 imagesB[start:start + batchSize]])
            if isinstance(batch, dict):
                batch = next(iter(batch.values()))
            scores.append(np.asarray(batch, np.float64).reshape(-1))
        return np.concatenate(scores) if scores else np.zeros(0)
