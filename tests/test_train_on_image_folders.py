"""Training on class folders of one's own images, and scoring with such a model."""
import json

import cv2
import numpy as np
import pytest
from conftest import (
    assert_clean_error,
    run_script,
    write_colour_only_classes,
    write_digit_classes,
)

from pyimagesearch.models.model_io import SiameseModel


def train(dataset, output, *args):
    result = run_script("train_siamese_network.py", "--dataset", dataset, "--output", output,
                        "--seed", 0, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def colour_runs(tmp_path_factory):
    """Models trained on classes only colour tells apart: in rgb and in grayscale."""
    root = tmp_path_factory.mktemp("colour")
    write_colour_only_classes(root / "train", 60, seed=0, size=16)
    write_colour_only_classes(root / "fresh", 30, seed=1, size=16)
    # the rgb model trains from the decoded images kept in memory, the grayscale one decodes
    # every batch
    runs = {mode: train(root / "train", root / mode, "--color-mode", mode, "--image-size",
                        16, 16, "--epochs", 5, "--cache-images", cache)
            for (mode, cache) in (("rgb", "always"), ("grayscale", "never"))}
    return root, runs


def score_fresh_pairs(root, mode):
    """(accuracy at the model's threshold, ROC AUC) on pairs of images never trained on."""
    from pyimagesearch.data.image_folders import load_image_folders
    from pyimagesearch.data.pairs import load_images, make_pair_indices
    from pyimagesearch.search.evaluation import evaluate_pairs

    model = SiameseModel(str(root / mode / "siamese_model"))
    ((files, labels), _, _) = load_image_folders(str(root / "fresh"), (16, 16), mode,
                                                 log=lambda line: None)
    (pairIdx, pairLabels) = make_pair_indices(labels, np.random.default_rng(0))
    images = load_images(files, np.arange(len(files)))
    scores = model.predict(images[pairIdx[:, 0]], images[pairIdx[:, 1]])
    evaluation = evaluate_pairs(scores, pairLabels, "similarity", model.metadata["threshold"])
    return evaluation["accuracy"], evaluation["roc_auc"]


def test_colour_is_really_used(colour_runs):
    (root, _) = colour_runs
    (rgbAccuracy, rgbAuc) = score_fresh_pairs(root, "rgb")
    (_, greyAuc) = score_fresh_pairs(root, "grayscale")
    assert rgbAccuracy >= 0.9 and rgbAuc >= 0.95
    # the same shapes at the same grey level: without colour there is nothing to learn
    assert greyAuc <= 0.75


def test_a_flat_folder_holds_out_a_split_and_records_what_the_model_reads(colour_runs):
    (root, runs) = colour_runs
    out = runs["rgb"].stdout
    assert "[INFO] found 120 images of 2 classes" in out and "16x16 rgb" in out
    assert "keeping the decoded images in memory (0.1 MB)" in out
    assert "keeping the decoded" not in runs["grayscale"].stdout
    assert "holding out 24 of 120 training images (20% of each class, seed 0)" in out
    assert "[INFO] test pairs" not in out
    metadata = json.loads((root / "rgb" / "siamese_model" / "metadata.json").read_text())
    assert metadata["input_shape"] == [16, 16, 3] and metadata["color_mode"] == "rgb"
    assert metadata["class_names"] == ["cool blue", "warm red"]
    assert metadata["threshold_chosen_on"].startswith("validation split: 24 training images")
    assert "test" not in metadata
    assert SiameseModel(str(root / "grayscale" / "siamese_model")).input_shape == (16, 16, 1)


def test_the_test_script_scores_colour_images_in_colour(colour_runs, tmp_path):
    (root, _) = colour_runs
    model = root / "rgb" / "siamese_model"
    result = run_script("test_siamese_network.py", "--input", root / "fresh", "--model", model,
                        "--output", tmp_path / "pairs", "--pairs", 4)
    assert result.returncode == 0, result.stderr
    assert len([line for line in result.stdout.splitlines()
                if line.startswith("[RESULT]")]) == 4
    montage = cv2.imread(str(tmp_path / "pairs" / "montage.png"))
    (blue, green, red) = (montage[..., c].astype(int) for c in range(3))
    assert (np.abs(red - blue) > 60).sum() > 100  # coloured pixels, not grey ones

    (a, b) = (root / "fresh" / "warm red" / "000.png", root / "fresh" / "cool blue" / "000.png")
    result = run_script("test_siamese_network.py", "--input", a, b, "--model", model,
                        "--output", tmp_path / "two")
    assert result.returncode == 0, result.stderr
    assert "pair #1: 000.png vs 000.png" in result.stdout and "- different" in result.stdout
    result = run_script("test_siamese_network.py", "--input", a, b, "--model", model,
                        "--prepare")
    assert_clean_error(result, "grayscale models only")


def test_train_and_test_folders_with_mixed_files(tmp_path):
    write_digit_classes(tmp_path / "data" / "train", 30, classNames=("zero", "one", "two"))
    write_digit_classes(tmp_path / "data" / "test", 12, seed=1,
                        classNames=("zero", "one", "two"))
    (tmp_path / "data" / "train" / "one" / "broken.png").write_bytes(b"junk")
    result = train(tmp_path / "data", tmp_path / "out", "--epochs", 1)
    lines = result.stdout.splitlines()
    assert any(line.startswith("[WARNING] skipping 1 unreadable file(s)") and "broken.png"
               in line for line in lines)
    assert any("found 126 images of 3 classes" in line and "(train/ 90, test/ 36)" in line
               for line in lines)
    metadata = json.loads((tmp_path / "out" / "siamese_model" / "metadata.json").read_text())
    assert metadata["class_names"] == ["one", "two", "zero"]
    assert metadata["input_shape"] == [28, 28, 1] and metadata["color_mode"] == "grayscale"
    assert metadata["threshold_chosen_on"].startswith("test pairs")

    # a class-folder model does not make digits MNIST-like unless asked to
    (a, b) = sorted((tmp_path / "data" / "test" / "one").glob("*.jpg"))[:2]
    result = run_script("test_siamese_network.py", "--input", a, b, "--model",
                        tmp_path / "out" / "siamese_model", "--output", tmp_path / "pairs")
    assert result.returncode == 0, result.stderr
    assert "centred like MNIST" not in result.stdout and "resized from 40x40" in result.stdout

    # the measuring tool reads the same test/ folder
    result = run_script("tools.evaluate", "--dataset", tmp_path / "data", "--model",
                        tmp_path / "out" / "siamese_model", "--digits", 0)
    assert result.returncode == 0, result.stderr
    assert "[INFO] test pairs (72): accuracy" in result.stdout
    result = run_script("tools.plot_embeddings", "--dataset", tmp_path / "data", "--model",
                        tmp_path / "out" / "siamese_model", "--count", 30, "--output",
                        tmp_path / "embeddings.png")
    assert result.returncode == 0, result.stderr
    assert "30 test images' embeddings (48-D)" in result.stdout


def test_unusable_folders_get_one_line_and_keep_the_model(tmp_path):
    output = tmp_path / "out"
    (output / "siamese_model").mkdir(parents=True)
    (output / "siamese_model" / "keep.txt").write_text("the previous model")
    (output / "siamese_model" / "saved_model.pb").write_bytes(b"")
    write_digit_classes(tmp_path / "one_class", 3, classNames=("a",))
    write_digit_classes(tmp_path / "empty_class", 3, classNames=("a", "b"))
    (tmp_path / "empty_class" / "c").mkdir()
    write_digit_classes(tmp_path / "tiny_class", 5, classNames=("a", "b"))
    for path in list((tmp_path / "tiny_class" / "b").iterdir())[1:]:
        path.unlink()
    write_digit_classes(tmp_path / "unreadable", 2, classNames=("a", "b"))
    for path in (tmp_path / "unreadable").glob("*/*"):
        path.write_bytes(b"junk")
    for (dataset, args, message) in (
            ("one_class", [], "1 class folder(s)"),
            ("empty_class", [], "with no images: 'c'"),
            ("tiny_class", [], "class 'b' has 1 training image(s)"),
            ("unreadable", [], "has no readable image"),
            ("one_class", ["--validation-split", "0"], "strictly between 0 and 1")):
        result = run_script("train_siamese_network.py", "--dataset", tmp_path / dataset,
                            "--output", output, *args)
        assert_clean_error(result, message)
        assert result.returncode == 1
    assert (output / "siamese_model" / "keep.txt").exists()
    assert not (output / "plot.png").exists()


def test_mnist_data_refuses_another_size_or_colour(tiny_npz, tmp_path):
    for (args, message) in ((["--image-size", 32, 32], "does not match the 28x28 images"),
                            (["--color-mode", "rgb"], "holds grayscale images")):
        result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--output",
                            tmp_path, *args)
        assert_clean_error(result, message)


def test_names_that_are_not_utf8_and_a_tiny_validation_split(tmp_path):
    import os

    from pyimagesearch.data.digits import render_digit

    rng = np.random.default_rng(0)
    root = os.fsencode(str(tmp_path / "data"))
    for (digit, folder) in enumerate((b"caf\xe9", b"plain")):  # Latin-1, not UTF-8
        os.makedirs(os.path.join(root, folder))
        for i in range(6):
            (_, png) = cv2.imencode(".png", render_digit(digit, rng))
            with open(os.path.join(root, folder, b"img\xff%d.png" % i), "wb") as f:
                f.write(png.tobytes())
    result = train(tmp_path / "data", tmp_path / "out", "--epochs", 1)
    assert "found 12 images of 2 classes" in result.stdout
    # two validation images: too few to draw, said in one line, and the model is saved
    assert "[INFO] 2 validation images are too few to draw their embeddings" in result.stdout
    assert SiameseModel(str(tmp_path / "out" / "siamese_model")).input_shape == (28, 28, 1)


def test_images_that_vanish_during_training_end_it_in_one_line(tmp_path):
    import os
    import subprocess
    import sys
    import time

    from conftest import ROOT

    write_digit_classes(tmp_path / "data", 40)
    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "train_siamese_network.py"), "--dataset",
         str(tmp_path / "data"), "--output", str(tmp_path / "out"), "--epochs", "50",
         "--batch-size", "8",
         "--cache-images", "never"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    try:
        for line in process.stdout:
            if line.startswith("Epoch 2/"):
                break
        for path in sorted((tmp_path / "data").rglob("*.*"))[::2]:
            path.unlink()
        started = time.monotonic()
        (out, err) = process.communicate(timeout=120)
        # it ends (not a hang on tf.data's workers), soon, in one line naming a file
        assert time.monotonic() - started < 60
    finally:
        process.kill()
    result = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert_clean_error(result, "reading the images failed during training:",
                       "cannot be read (No such file or directory)", "nothing was saved")
    assert "op_kernel" not in err, err
    assert not list((tmp_path / "out" / "data").glob("*_model"))
