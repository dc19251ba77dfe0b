"""--pairs in_batch: the sampler (twos of a class), the view that scores every pair of a
batch, the balanced loss and accuracy, and the training script with them."""
import csv

import keras
import numpy as np
import pytest
from conftest import run_script

import train_siamese_network
from pyimagesearch.data.pairs import make_pair_indices, pair_dataset, pairs_by_anchor, score_pairs
from pyimagesearch.data.samplers import in_batch_dataset, shared_image_dataset, steps_per_epoch
from pyimagesearch.models.losses import (
    InBatchPairAccuracy,
    compile_in_batch_binary_crossentropy,
    compile_in_batch_contrastive,
)
from pyimagesearch.models.model_io import read_metadata
from pyimagesearch.models.views import (
    build_anchor_model,
    build_in_batch_model,
    build_shared_image_model,
)
from pyimagesearch.search.evaluation import evaluate_pairs
from pyimagesearch.siamese_network import build_pair_model


def test_batches_are_twos_of_a_class_each_image_once_an_epoch():
    labels = np.repeat(np.arange(5), [9, 8, 8, 2, 3])  # odd classes leave one out
    images = (np.arange(len(labels)) % 256).astype(np.uint8)[:, None, None] * np.ones(
        (1, 4, 4), np.uint8)
    dataset = in_batch_dataset(images, labels, 16, seed=1)
    epochs = []
    for _ in range(2):
        batches = list(dataset)
        assert len(batches) == steps_per_epoch("in_batch", len(labels), 16, labels) == 4
        assert [len(b[1]) for b in batches] == [8, 8, 8, 4]  # 28 of 30 images, 8 a step
        shown = np.concatenate([b[0].numpy()[:, 0, 0, 0] * 255 for b in batches]).round()
        batchLabels = np.concatenate([b[1].numpy() for b in batches])
        assert len(set(shown)) == len(shown) == 28  # each image at most once
        np.testing.assert_array_equal(labels[shown.astype(int)], batchLabels)
        np.testing.assert_array_equal(batchLabels[0::2], batchLabels[1::2])  # twos of a class
        epochs.append(shown)
    assert not np.array_equal(*epochs)  # drawn anew every epoch
    again = np.concatenate([b[0].numpy()[:, 0, 0, 0] for b in in_batch_dataset(
        images, labels, 16, seed=1)]) * 255
    np.testing.assert_array_equal(again.round(), epochs[0])  # and repeatably with a seed
    with pytest.raises(ValueError, match="divisible by 4"):
        in_batch_dataset(images, labels, 18)


def test_the_view_scores_every_pair_as_the_pair_model_does():
    keras.utils.set_random_seed(0)
    model = build_pair_model((28, 28, 1))
    view = build_in_batch_model(model)
    assert view.count_params() == model.count_params()
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    grid = view.predict(x, verbose=0)
    (first, second) = np.divmod(np.arange(25), 5)
    expected = model.predict([x[first], x[second]], verbose=0).reshape(5, 5)
    np.testing.assert_allclose(grid, expected, rtol=1e-5, atol=1e-6)


def test_the_loss_weighs_positive_and_negative_pairs_equally_and_skips_self_pairs():
    (loss, metrics) = compile_in_batch_binary_crossentropy()
    labels = np.array([0, 0, 0, 1], np.float32)
    # the diagonal (an image with itself) would cost a lot if it counted
    scores = np.array([[0.01, 0.9, 0.8, 0.3],
                       [0.9, 0.01, 0.6, 0.2],
                       [0.8, 0.6, 0.01, 0.4],
                       [0.3, 0.2, 0.4, 0.01]], np.float32)
    positives = -np.log([0.9, 0.8, 0.6])          # 6 ordered positive pairs, each twice
    negatives = -np.log(1 - np.array([0.3, 0.2, 0.4]))  # 6 ordered negative pairs
    expected = 0.5 * (positives.mean() + negatives.mean())
    np.testing.assert_allclose(float(loss(labels, scores)), expected, rtol=1e-5)
    # every positive pair scores above 0.5 and every negative one below
    accuracy = metrics[0]
    accuracy.update_state(labels, scores)
    assert float(accuracy.result()) == pytest.approx(1.0)
    accuracy.update_state(labels, 1.0 - scores)  # now every pair is wrong
    assert float(accuracy.result()) == pytest.approx(0.5)
    assert isinstance(accuracy, InBatchPairAccuracy)


def test_the_contrastive_loss_over_every_pair():
    (loss, metrics) = compile_in_batch_contrastive(margin=1.0)
    labels = np.array([0, 0, 1], np.float32)
    distances = np.array([[0.0, 0.5, 0.25],
                          [0.5, 0.0, 2.0],
                          [0.25, 2.0, 0.0]], np.float32)
    # positives: 0.5^2; negatives: (1 - 0.25)^2 and max(1 - 2, 0)^2
    expected = 0.5 * (0.25 + (0.75 ** 2 + 0.0) / 2)
    np.testing.assert_allclose(float(loss(labels, distances)), expected, rtol=1e-5)
    assert metrics is None
    with pytest.raises(ValueError, match="margin must be positive"):
        compile_in_batch_contrastive(margin=0)


@pytest.fixture(scope="module")
def uint8_digits():
    """Rendered digits (not MNIST) as uint8, as the training script holds them: 600 to train
    on, 200 to validate on."""
    from pyimagesearch.data.digits import make_digits
    return make_digits(600, seed=1), make_digits(200, seed=2)


def accuracy_after_training(digits, sampler, seed=0):
    """Test pair accuracy after 7 epochs of the same steps: 16 anchors of 32 drawn pairs
    ("anchor"), the same 32 drawn pairs a step sharing their images ("shared", the default),
    or 16 images in twos ("in_batch")."""
    ((x, y), (xt, yt)) = digits
    keras.utils.set_random_seed(seed)
    model = build_pair_model((28, 28, 1))
    loss = "binary_crossentropy"
    if sampler == "in_batch":
        trainer = build_in_batch_model(model)
        (loss, _) = compile_in_batch_binary_crossentropy()
        data = in_batch_dataset(x, y, 32, seed=seed)
    elif sampler == "shared":
        trainer = build_shared_image_model(model)
        data = shared_image_dataset(x, *make_pair_indices(y, rng=seed), 32, seed=seed)
    else:
        trainer = build_anchor_model(model)
        data = pair_dataset(x, *pairs_by_anchor(*make_pair_indices(y, rng=seed)), 16,
                            shuffle=True, seed=seed)
    trainer.compile(loss=loss, optimizer=keras.optimizers.Adam(0.003))
    trainer.fit(data, epochs=7, verbose=0)
    (testIdx, testLabels) = make_pair_indices(yt, rng=11)
    scores = score_pairs(lambda a, b: model([a, b], training=False), xt, testIdx)
    return evaluate_pairs(scores, testLabels, "similarity", 0.5)["accuracy"]


@pytest.fixture(scope="module")
def drawn_accuracy(uint8_digits):
    return accuracy_after_training(uint8_digits, "shared")


def test_every_pair_of_the_batch_learns_as_well_as_the_drawn_pairs(uint8_digits,
                                                                   drawn_accuracy):
    inBatch = accuracy_after_training(uint8_digits, "in_batch")
    # a model that learns nothing stays at 0.50; each reaches 0.71 and more in 7 epochs
    assert drawn_accuracy >= 0.65 and inBatch >= 0.65, (drawn_accuracy, inBatch)
    assert inBatch >= drawn_accuracy - 0.05, (drawn_accuracy, inBatch)


def test_steps_sharing_their_images_learn_as_well_as_the_anchor_view(uint8_digits,
                                                                     drawn_accuracy):
    anchor = accuracy_after_training(uint8_digits, "anchor")
    assert drawn_accuracy >= anchor - 0.05, (drawn_accuracy, anchor)


def test_the_script_trains_on_every_pair_and_validates_on_the_drawn_pairs(tiny_npz, tmp_path):
    result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--epochs", 2,
                        "--output", tmp_path / "out", "--pairs", "in_batch", "--seed", 1)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = list(csv.DictReader(open(tmp_path / "out" / "training_log.csv")))
    assert len(rows) == 2
    assert {"accuracy", "loss", "val_accuracy", "val_loss", "seconds"} <= set(rows[0])
    metadata = read_metadata(str(tmp_path / "out" / "siamese_model"))
    assert metadata["pairs"] == "in_batch" and metadata["validation"]["pairs"] == 200
    # the log's last validation accuracy is the printed one, on the same 200 drawn pairs
    printed = float(result.stdout.split("validation pairs: accuracy ")[1].split()[0])
    assert abs(float(rows[-1]["val_accuracy"]) - printed) <= 0.011


@pytest.mark.parametrize("flags, message", [
    (["--pairs", "in_batch", "--batch-size", "30"], "--batch-size must be a multiple of 4"),
    (["--pairs", "in_batch", "--resample-pairs"], "--resample-pairs is for the pair losses'"),
    (["--pairs", "in_batch", "--strategy", "mirrored"], "--pairs in_batch trains on one"),
    (["--pairs", "drawn", "--loss", "triplet"], "--pairs is for the pair losses"),
])
def test_in_batch_flags_that_cannot_go_together_are_refused(tiny_npz, flags, message):
    with pytest.raises(ValueError, match=message):
        train_siamese_network.parse_args(["--dataset", str(tiny_npz), *flags])


def test_small_vggs_recipe_trains_on_every_pair_but_under_a_strategy(tiny_npz):
    def pairs(*flags):
        return train_siamese_network.parse_args(["--dataset", str(tiny_npz), *flags]).pairs
    assert pairs() == "drawn"  # the tutorial's
    assert pairs("--architecture", "small_vgg") == "in_batch"
    assert pairs("--architecture", "small_vgg", "--strategy", "mirrored") == "drawn"
    assert pairs("--architecture", "small_vgg", "--pairs", "drawn") == "drawn"
    assert pairs("--loss", "triplet") == "drawn"  # unused: the triplet loss has its own


def test_a_class_of_single_images_cannot_make_twos():
    with pytest.raises(ValueError, match="two images of one class at least"):
        in_batch_dataset(np.zeros((3, 4, 4), np.uint8), np.array([0, 1, 2]), 8)


def test_a_class_with_a_single_training_image_is_named_as_left_out(tmp_path):
    from pyimagesearch.data.digits import make_digits
    (x, y) = make_digits(60, seed=1)
    keep = np.concatenate([np.flatnonzero(y != 9), np.flatnonzero(y == 9)[:1]])
    path = tmp_path / "one_nine.npz"
    np.savez(path, x_train=x[keep], y_train=y[keep].astype(np.uint8), x_test=x, y_test=y)
    result = run_script("train_siamese_network.py", "--dataset", path, "--epochs", 1,
                        "--output", tmp_path / "out", "--pairs", "in_batch", "--seed", 1)
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("[WARNING]")]
    assert len(warnings) == 1 and "1 class(es) with a single training image" in warnings[0]
    assert warnings[0].split(": ")[1].startswith("9 (")
