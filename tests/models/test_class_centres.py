"""A margin softmax over identities (--loss cosface): the training view learns a centre per
class beside the sister network, and the model that is saved is the sister network alone."""
import csv
import os

import numpy as np
import tensorflow as tf
from conftest import run_script

from pyimagesearch.models.model_io import SiameseModel
from pyimagesearch.models.views import build_class_centre_model
from pyimagesearch.siamese_network import build_pair_model


def test_the_view_scores_images_against_learnt_centres_and_shares_the_sister():
    model = build_pair_model((28, 28, 1), head=None, architecture="small_vgg",
                             unitEmbeddings=True)
    view = build_class_centre_model(model, classes=7)
    images = np.random.default_rng(0).random((5, 28, 28, 1)).astype(np.float32)
    cosines = np.asarray(view.predict(images, verbose=0))
    assert cosines.shape == (5, 7) and np.all(np.abs(cosines) <= 1 + 1e-5)
    assert view.get_layer("sister_network") is model.get_layer("sister_network")
    assert len(view.trainable_weights) == len(model.trainable_weights) + 1


def test_cosface_trains_and_saves_the_sister_network_alone(tiny_npz, tmp_path):
    result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--architecture",
                        "small_vgg", "--loss", "cosface", "--epochs", "3", "--seed", "1",
                        "--precision", "float32", "--output", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = list(csv.DictReader(open(tmp_path / "small_vgg_cosface_training_log.csv")))
    losses = [float(row["val_loss"]) for row in rows]
    assert len(losses) == 3 and losses[-1] < losses[0]
    path = os.path.join(tmp_path, "small_vgg_cosface_siamese_model")
    saved = SiameseModel(path)
    assert saved.metadata["loss"] == "cosface" and saved.metadata["score"] == "distance"
    (digit, other) = np.random.default_rng(0).random((2, 1, 28, 28, 1)).astype(np.float32)
    assert saved.predict(digit, digit)[0] < 1e-3 <= saved.predict(digit, other)[0]
    # the exported model holds the sister network's weights, not the centres
    fresh = build_pair_model((28, 28, 1), head=None, architecture="small_vgg",
                             unitEmbeddings=True)
    exported = tf.saved_model.load(path)
    assert sum(int(v.shape.num_elements()) for v in exported.variables) == \
        fresh.count_params()
