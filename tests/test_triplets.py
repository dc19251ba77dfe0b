"""The triplet loss end to end: class-balanced batches, a short run that lowers the loss, and
a saved model that the test script and the measuring tools read."""
import csv
import os

import numpy as np
from conftest import ROOT, load_script, run_script

import train_siamese_network
from pyimagesearch.model_io import SiameseModel


def test_class_balanced_batches_hold_every_class_alike():
    import tensorflow as tf

    from pyimagesearch.pairs import class_balanced_dataset, class_batch_shape

    labels = np.repeat(np.arange(10), 30)
    images = np.repeat(np.arange(10, dtype=np.uint8), 30)[:, None, None] * np.ones(
        (1, 4, 4), np.uint8)
    assert class_batch_shape(labels, 64) == (10, 6)
    dataset = class_balanced_dataset(images, labels, 64, seed=1)
    batches = list(dataset)
    assert len(batches) == 5  # 300 images in batches of 60
    for (batch, batchLabels) in batches:
        assert batch.shape == (60, 4, 4, 1)
        assert np.bincount(batchLabels.numpy().astype(int)).tolist() == [6] * 10
        # every image is of its label's class (here: its pixels are its label / 255)
        np.testing.assert_allclose(batch.numpy()[:, 0, 0, 0] * 255, batchLabels.numpy(),
                                   atol=1e-3)
    again = [b.numpy().tolist() for (_, b) in dataset]
    assert again != [b.numpy().tolist() for (_, b) in batches] or len(again) == 0
    fixed = class_balanced_dataset(images, labels, 64, seed=1, fixed=True)
    assert [b.numpy().tolist() for (_, b) in fixed] == [b.numpy().tolist() for (_, b) in fixed]
    assert isinstance(dataset, tf.data.Dataset)


def test_triplet_training_lowers_the_loss_and_saves_a_distance_model(tiny_npz, tmp_path,
                                                                     capsys):
    train_siamese_network.main(["--dataset", str(tiny_npz), "--loss", "triplet", "--epochs",
                                "4", "--output", str(tmp_path), "--seed", "2",
                                "--learning-rate", "0.003", "--precision", "float32"])
    out = capsys.readouterr().out
    assert "[INFO] saving siamese model..." in out
    with open(tmp_path / "triplet_training_log.csv") as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert losses[-1] < losses[0]
    modelPath = tmp_path / "triplet_siamese_model"
    model = SiameseModel(str(modelPath))
    assert (model.metadata["loss"], model.metadata["score"]) == ("triplet", "distance")
    assert (model.metadata["margin"], model.metadata["mining"]) == (0.5, "semi_hard")
    assert model.metadata["threshold"] > 0
    load_script().main(["--input", os.path.join(ROOT, "examples"), "--model", str(modelPath),
                        "--output", str(tmp_path / "pairs"), "--pairs", "4"])
    assert capsys.readouterr().out.count("distance: ") == 4
    result = run_script("tools.evaluate", "--model", modelPath, "--dataset", tiny_npz,
                        "--digits", 0, "--episodes", 20)
    assert result.returncode == 0 and "test recognition" in result.stdout, result.stderr


def test_flags_of_the_other_kind_of_loss_are_refused(tiny_npz, capsys):
    import pytest

    with pytest.raises(ValueError, match="--mining is for a loss that mines"):
        train_siamese_network.parse_args(["--dataset", str(tiny_npz), "--mining", "random"])
    with pytest.raises(ValueError, match="--resample-pairs is for the pair losses"):
        train_siamese_network.parse_args(["--dataset", str(tiny_npz), "--loss", "triplet",
                                          "--resample-pairs"])
