"""The triplet loss end to end: class-balanced batches, a short run that lowers the loss, and
a saved model that the test script and the measuring tools read."""
import csv
import os

import numpy as np
import pytest
from conftest import ROOT, load_script, run_script

import train_siamese_network
from pyimagesearch.models.model_io import SiameseModel


def test_class_balanced_batches_hold_every_class_alike():
    import tensorflow as tf

    from pyimagesearch.data.samplers import class_balanced_dataset, class_batch_shape

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


def test_rotated_classes_are_each_class_turned_by_quarters_as_classes_of_their_own():
    from pyimagesearch.data.samplers import TURNS, class_balanced_dataset, steps_per_epoch

    # 6 classes of 10 images; image i marks its top-left corner with i + 1 and its class
    # with the top-right one, so that a batch shows which image it is and how it was turned
    labels = np.repeat(np.arange(6), 10) + 3
    images = np.zeros((60, 5, 5), np.uint8)
    images[:, 0, 0] = np.arange(1, 61)
    images[:, 0, 4] = 100 + labels
    count = 0
    for (batch, batchLabels) in class_balanced_dataset(images, labels, 24, seed=2,
                                                       turns=TURNS):
        batch = np.rint(batch.numpy()[..., 0] * 255).astype(int)
        for (image, label) in zip(batch, batchLabels.numpy().astype(int)):
            # the corner the mark turned to says by how many quarters (counterclockwise)
            quarters = next(k for k in range(TURNS) if 0 < np.rot90(image, -k)[0, 0] <= 60
                            and np.rot90(image, -k)[0, 4] > 100)
            original = np.rot90(image, -quarters)
            assert quarters == label % TURNS
            assert original[0, 4] - 100 == labels[original[0, 0] - 1] == label // TURNS + 3
            count += 1
    # every image once in each of its turns an epoch: four times as many as without turns
    assert count == 4 * 60 == 24 * steps_per_epoch("classes", 60, 24, labels, turns=TURNS)
    with pytest.raises(ValueError):
        class_balanced_dataset(images, labels, 24, turns=2)


def test_triplet_training_lowers_the_loss_and_saves_a_distance_model(tiny_npz, tmp_path,
                                                                     capsys):
    train_siamese_network.main(["--dataset", str(tiny_npz), "--loss", "triplet", "--epochs",
                                "4", "--output", str(tmp_path), "--seed", "2",
                                "--learning-rate", "0.003", "--precision", "float32",
                                "--embedding-dim", "16"])
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
    # the length asked for, recorded, and on the unit sphere as the loss wants
    assert model.metadata["embedding_dim"] == 16
    embeddings = model.embed(np.zeros((2, *model.input_shape), model.input_dtype))
    assert embeddings.shape == (2, 16)
    assert np.linalg.norm(embeddings, axis=1) == pytest.approx(1, abs=1e-5)
    load_script().main(["--input", os.path.join(ROOT, "examples"), "--model", str(modelPath),
                        "--output", str(tmp_path / "pairs"), "--pairs", "4"])
    assert capsys.readouterr().out.count("distance: ") == 4
    result = run_script("tools.evaluate", "--model", modelPath, "--dataset", tiny_npz,
                        "--digits", 0, "--episodes", 20)
    assert result.returncode == 0 and "test recognition" in result.stdout, result.stderr


def test_flags_of_the_other_kind_of_loss_are_refused(tiny_npz, capsys):
    with pytest.raises(ValueError, match="--mining is for a loss that mines"):
        train_siamese_network.parse_args(["--dataset", str(tiny_npz), "--mining", "random"])
    with pytest.raises(ValueError, match="--resample-pairs is for the pair losses"):
        train_siamese_network.parse_args(["--dataset", str(tiny_npz), "--loss", "triplet",
                                          "--resample-pairs"])
    for loss in ("binary_crossentropy", "cosface"):
        with pytest.raises(ValueError, match="--rotated-classes is for the losses that compare"):
            train_siamese_network.parse_args(["--dataset", str(tiny_npz), "--loss", loss,
                                              "--rotated-classes"])
    with pytest.raises(ValueError, match="needs square images"):
        train_siamese_network.parse_args(["--dataset", str(tiny_npz), "--loss", "nca",
                                          "--rotated-classes", "--image-size", "28", "32"])
    # a recipe's turns go where they can, and nowhere else
    for (loss, turned) in (("nca", True), ("contrastive", False), ("cosface", False)):
        args = train_siamese_network.parse_args(["--dataset", str(tiny_npz), "--architecture",
                                                 "characters", "--loss", loss])
        assert args.rotated_classes is turned


def test_batches_with_views_hold_each_image_twice_with_its_identity():
    from pyimagesearch.data.samplers import class_balanced_dataset, steps_per_epoch

    labels = np.repeat(np.arange(5), 20)
    images = np.arange(100, dtype=np.uint8)[:, None, None] * np.ones((1, 4, 4), np.uint8)
    batches = list(class_balanced_dataset(images, labels, 64, seed=3, views=2))
    # an epoch covers every image once: 30 distinct images per batch, so 4 batches for 100
    assert len(batches) == steps_per_epoch("classes", 100, 64, labels, views=2) == 4
    for (batch, rows) in batches:
        (rows, pixels) = (rows.numpy(), np.round(batch.numpy()[:, 0, 0, 0] * 255))
        assert rows.shape == (60, 2)
        np.testing.assert_array_equal(rows[0::2], rows[1::2])  # each image twice in a row
        np.testing.assert_array_equal(pixels, rows[:, 1])  # the second column is the image
        np.testing.assert_array_equal(labels[rows[:, 1].astype(int)], rows[:, 0])
        assert np.bincount(rows[:, 0].astype(int)).tolist() == [12] * 5


def test_the_view_term_pulls_an_images_views_together():
    from pyimagesearch.models.losses import VIEW_MARGIN, VIEW_WEIGHT, compile_triplet_views

    (loss, _) = compile_triplet_views(margin=0.5, mining="batch_hard")
    # two classes far apart; inside class 0 two images, each seen twice
    rows = np.array([[0, 10], [0, 10], [0, 11], [0, 11], [1, 20], [1, 20]], np.float32)
    together = np.array([[0.0], [0.0], [0.3], [0.3], [5.0], [5.0]], np.float32)
    # the views coincide, the other image of the class lies 0.3 away: the view term wants
    # VIEW_MARGIN between them, the class term is met
    expected = VIEW_WEIGHT * np.mean([VIEW_MARGIN - 0.3 if VIEW_MARGIN > 0.3 else 0.0] * 4
                                     + [0.0, 0.0])
    assert float(loss(rows, together)) == pytest.approx(expected, abs=1e-5)
    apart = np.array([[0.0], [0.2], [0.25], [0.45], [5.0], [5.0]], np.float32)
    assert float(loss(rows, apart)) > float(loss(rows, together))
