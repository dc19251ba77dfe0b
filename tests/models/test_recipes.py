"""The recipe tables: every entry builds, trains a step and round-trips through save and load,
and a new entry needs nothing else to be trained, saved, named and read by the scripts."""
import os

import keras
import numpy as np
import pytest

from pyimagesearch.models import recipes
from pyimagesearch.models.model_io import SiameseModel, save_model
from pyimagesearch.models.recipes import ARCHITECTURES, LOSSES, Architecture, Loss, output_paths
from pyimagesearch.models.views import (
    build_anchor_model,
    build_class_centre_model,
    build_embedding_model,
    build_in_batch_model,
)
from pyimagesearch.siamese_network import build_pair_model


def test_the_tutorial_comes_first_and_every_builder_builds_a_sister_network():
    assert (tuple(ARCHITECTURES)[0], tuple(LOSSES)[0]) == ("tutorial", "binary_crossentropy")
    for entry in ARCHITECTURES.values():
        sister = entry.build((28, 28, 1), 48)
        assert sister.name == "sister_network"
        assert tuple(sister.outputs[0].shape) == (None, 48)


def test_recipe_defaults_and_help_come_from_the_tables():
    assert recipes.recipe_defaults("epochs") == (
        f"100 for tutorial, 12 for small_vgg, {ARCHITECTURES['conv4'].epochs} for conv4, "
        f"{ARCHITECTURES['characters'].epochs} for characters, "
        f"{ARCHITECTURES['faces'].epochs} for faces")
    assert recipes.recipe_defaults("pairs") == (
        "drawn for tutorial, in_batch for small_vgg, in_batch for conv4, in_batch for "
        "characters, in_batch for faces")
    assert recipes.recipe_defaults("augment") == \
        "off for tutorial, on for small_vgg, on for conv4, on for characters, on for faces"
    assert recipes.recipe_defaults("margin") == \
        "1.0 for contrastive, 0.5 for triplet, 0.5 for triplet_views, 0.35 for cosface"
    assert recipes.recipe_defaults("mining") == \
        "semi_hard for triplet, semi_hard for triplet_views"
    assert recipes.recipe_defaults("embedding_dim") == "48 for every architecture"
    assert recipes.choices_help(LOSSES).startswith("binary_crossentropy (default: ")
    with pytest.raises(ValueError,
                       match="architecture must be one of tutorial, small_vgg, conv4, characters"):
        recipes.architecture_named("resnet")
    with pytest.raises(ValueError, match="loss must be one of"):
        recipes.loss_named("hinge")


# every architecture with the tutorial's loss, every loss with the tutorial's network and
# with small_vgg (the networks differ in their ending, which the losses' heads meet)
ENTRIES = sorted({(architecture, "binary_crossentropy") for architecture in ARCHITECTURES}
                 | {(architecture, lossName) for lossName in LOSSES
                    for architecture in ("tutorial", "small_vgg")})


@pytest.mark.parametrize("architecture, lossName", ENTRIES)
def test_every_entry_trains_a_step_and_round_trips(architecture, lossName, digit_images,
                                                   tmp_path):
    ((x, y), _) = digit_images
    loss = LOSSES[lossName]
    keras.utils.set_random_seed(0)
    model = build_pair_model((28, 28, 1), head=loss.head, architecture=architecture,
                             unitEmbeddings=loss.unit_embeddings)
    (lossFunction, metrics) = loss.make(loss.margin or 1.0)
    before = [w.copy() for w in model.get_weights()]
    if loss.sampler == "classes":
        trainer = (build_class_centre_model(model, classes=10) if loss.centres
                   else build_embedding_model(model))
        (inputs, labels) = (x[:32], y[:32].astype(np.float32))
        if loss.views > 1:  # (class, image) rows: each image twice
            (inputs, labels) = (np.repeat(x[:16], 2, axis=0), np.stack(
                [np.repeat(y[:16], 2), np.repeat(np.arange(16), 2)], axis=1).astype(np.float32))
    else:
        trainer = build_anchor_model(model)
        (inputs, labels) = ([x[:32], x[32:64], x[64:96]],
                            np.tile(np.array([[1, 0]], np.float32), (32, 1)))
    trainer.compile(loss=lossFunction, optimizer=keras.optimizers.Adam(1e-3), metrics=metrics)
    trainer.fit(inputs, labels, batch_size=32, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for (a, b) in zip(before, model.get_weights()))
    if loss.in_batch is not None:  # and with every pair of a batch (--pairs in_batch)
        (lossFunction, metrics) = loss.make(loss.margin or 1.0, inBatch=True)
        inBatch = build_in_batch_model(model)
        inBatch.compile(loss=lossFunction, optimizer=keras.optimizers.Adam(1e-3),
                        metrics=metrics)
        history = inBatch.fit(x[:32], y[:32].astype(np.float32), batch_size=16, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    path = str(tmp_path / "model")
    save_model(model, path, {"loss": lossName, "score": loss.score,
                             "threshold": loss.default_threshold(loss.margin or 1.0)})
    saved = SiameseModel(path)
    expected = np.asarray(model.predict([x[:8], x[8:16]], verbose=0)).reshape(-1)
    np.testing.assert_allclose(saved.predict(x[:8], x[8:16]), expected, rtol=1e-5, atol=1e-5)
    assert saved.metadata["score"] == loss.score


def build_tiny_dense_model(inputShape, embeddingDim=48):
    inputs = keras.Input(inputShape)
    x = keras.layers.Flatten()(inputs)
    outputs = keras.layers.Dense(embeddingDim)(keras.layers.Dense(32, activation="relu")(x))
    return keras.Model(inputs, outputs, name="sister_network")


def compile_squared_distance(margin):
    from keras import ops

    def squared(y, distance):
        y = ops.cast(y, distance.dtype)
        return ops.mean(y * distance + (1 - y) * ops.maximum(margin - distance, 0))
    return squared, None


def test_a_new_entry_in_each_table_needs_nothing_else(monkeypatch, tiny_npz, tmp_path,
                                                      capsys):
    from conftest import ROOT, load_script

    import train_siamese_network

    monkeypatch.setitem(ARCHITECTURES, "tiny_dense", Architecture(
        "tiny_dense", build_tiny_dense_model, "a flat dense network", epochs=2,
        learning_rate=0.002, schedule="constant", weight_decay=0.0, validation_split=0.2,
        augment=False, prefix="tiny_dense_"))
    monkeypatch.setitem(LOSSES, "hinged", Loss(
        "hinged", compile_squared_distance, "a hinge on the distance", head=None,
        score="distance", margin=2.0, threshold="margin/2", choose_threshold=True,
        prefix="hinged_"))

    with pytest.raises(SystemExit):
        train_siamese_network.parse_args(["--help"])
    helpText = " ".join(capsys.readouterr().out.split())
    assert "tiny_dense (a flat dense network)" in helpText
    assert "hinged (a hinge on the distance)" in helpText
    args = train_siamese_network.parse_args(["--architecture", "tiny_dense", "--loss", "hinged"])
    assert (args.epochs, args.learning_rate, args.validation_split, args.margin) == \
        (2, 0.002, 0.2, 2.0)

    train_siamese_network.main(["--dataset", str(tiny_npz), "--architecture", "tiny_dense",
                                "--loss", "hinged", "--output", str(tmp_path), "--seed", "1",
                                "--precision", "float32"])
    (modelPath, plotPath, logPath, _, _) = output_paths(str(tmp_path), "hinged",
                                                               "tiny_dense")
    assert os.path.basename(modelPath) == "tiny_dense_hinged_siamese_model"
    assert os.path.isfile(plotPath) and os.path.isfile(logPath)
    metadata = SiameseModel(modelPath).metadata
    assert (metadata["architecture"], metadata["loss"], metadata["score"]) == \
        ("tiny_dense", "hinged", "distance")
    assert metadata["epochs"] == 2 and metadata["margin"] == 2.0

    capsys.readouterr()
    load_script().main(["--input", os.path.join(ROOT, "examples"),
                               "--model", modelPath, "--output", str(tmp_path / "pairs"),
                               "--pairs", "3"])
    results = [line for line in capsys.readouterr().out.splitlines()
               if line.startswith("[RESULT]")]
    assert len(results) == 3 and all("distance: " in line for line in results)
