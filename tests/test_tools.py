import json
import os

import cv2
import numpy as np
import pytest
from conftest import ROOT, assert_clean_error, run_script

from pyimagesearch.models.model_io import read_metadata


def test_make_examples_reproduces_the_committed_examples(tmp_path):
    result = run_script("tools.make_examples", "--output", tmp_path)
    assert result.returncode == 0, result.stderr
    for i in range(1, 14):
        name = f"image_{i:02d}.png"
        made = cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED)
        committed = cv2.imread(os.path.join(ROOT, "examples", name), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(made, committed), name


def test_evaluate_measures_and_records(trained_output, tiny_npz):
    (output, _) = trained_output
    model = output / "siamese_model"
    result = run_script("tools.evaluate", "--model", model, "--dataset", tiny_npz,
                        "--digits", 40, "--record")
    assert result.returncode == 0, result.stderr
    assert "[INFO] test pairs (200): accuracy" in result.stdout
    assert "[INFO] rendered digit pairs (80): accuracy" in result.stdout
    metadata = read_metadata(str(model))
    assert metadata["mnist_test_pairs"]["pairs"] == 200
    assert metadata["rendered_digits"]["pairs"] == 80
    # each set's recognition beside its pairs, named alike
    assert "precision_at_1" in metadata["mnist_test_recognition"]
    assert "precision_at_1" in metadata["rendered_digits_recognition"]
    assert "validation" in metadata  # the training script's own figures stay


def test_evaluate_refuses_a_senseless_threshold_and_can_skip_the_digits(trained_output,
                                                                       tiny_npz):
    from conftest import assert_clean_error
    model = trained_output[0] / "siamese_model"
    result = run_script("tools.evaluate", "--model", model, "--dataset", tiny_npz,
                        "--threshold", "nan")
    assert_clean_error(result, "--threshold must be a finite number")
    result = run_script("tools.evaluate", "--model", model, "--dataset", tiny_npz,
                        "--digits", 0)
    assert result.returncode == 0, result.stderr
    assert "test pairs (200)" in result.stdout and "rendered" not in result.stdout


def test_plot_embeddings_draws_any_saved_model(trained_output, tiny_npz, tmp_path):
    model = trained_output[0] / "siamese_model"
    result = run_script("tools.plot_embeddings", "--model", model, "--dataset", tiny_npz,
                        "--count", 50, "--output", tmp_path / "e.png")
    assert result.returncode == 0, result.stderr
    assert "[INFO] 50 test images' embeddings (48-D) drawn to" in result.stdout
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_upgrade_model_adds_the_embedding_endpoints_with_the_same_scores(tmp_path):
    import json

    import keras

    from pyimagesearch.models.model_io import ModelError, SiameseModel
    from pyimagesearch.siamese_network import build_pair_model
    # a model as older versions exported it: the serve endpoint only
    keras.utils.set_random_seed(0)
    old = tmp_path / "old"
    build_pair_model((28, 28, 1)).export(str(old), verbose=False)
    (old / "metadata.json").write_text(json.dumps({"precision": "float32"}))
    rng = np.random.default_rng(1)
    (a, b) = (rng.random((6, 28, 28, 1), dtype=np.float32) for _ in range(2))
    before = SiameseModel(str(old))
    with pytest.raises(ModelError, match="upgrade_model.py"):
        before.embed(a)
    result = run_script("tools.upgrade_model", old)
    assert result.returncode == 0, result.stderr
    assert "re-exported with the embed and score_embeddings endpoints" in result.stdout
    upgraded = SiameseModel(str(old))
    np.testing.assert_allclose(upgraded.predict(a, b), before.predict(a, b), rtol=1e-5)
    assert upgraded.embed(a).shape == (6, 48)
    # scores of the embeddings are the scores of the images they came from
    np.testing.assert_allclose(upgraded.score_embeddings(upgraded.embed(a), upgraded.embed(b)),
                               before.predict(a, b), rtol=1e-5, atol=1e-6)
    assert "already has" in run_script("tools.upgrade_model", old).stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_class_folders_are_written_from_arrays(tiny_npz, tmp_path):
    names = "zero,one one,two,three,four,five,six,seven,eight,nine"
    result = run_script("tools.write_class_folders", "--dataset", tiny_npz, "--output",
                        tmp_path / "out", "--class-names", names, "--limit", 50)
    assert result.returncode == 0, result.stderr
    assert "wrote 50 train images into 10 class folders" in result.stdout
    with np.load(tiny_npz) as data:
        (trainX, trainY) = (data["x_train"], data["y_train"])
    written = sorted((tmp_path / "out" / "train").glob("*/*.png"))
    assert len(written) == 50 and len(list((tmp_path / "out" / "test").glob("*/*.png"))) == 100
    first = tmp_path / "out" / "train" / names.split(",")[trainY[0]] / "00000.png"
    np.testing.assert_array_equal(cv2.imread(str(first), cv2.IMREAD_UNCHANGED), trainX[0])

    result = run_script("tools.write_class_folders", "--dataset", tiny_npz, "--output",
                        tmp_path / "out")
    assert_clean_error(result, "is not empty")
    result = run_script("tools.write_class_folders", "--dataset", tiny_npz, "--output",
                        tmp_path / "other", "--class-names", "a,b")
    assert_clean_error(result, "10 different, non-empty names")


def test_evaluate_measures_recognition_among_chosen_classes(trained_output, tiny_npz,
                                                            tmp_path):
    model = trained_output[0] / "siamese_model"
    args = ["--model", model, "--dataset", tiny_npz, "--digits", 0, "--classes", 5, 6, 7, 8,
            9, "--ways", 5, "--episodes", 50, "--gallery-per-class", 3, "--episode-figure",
            tmp_path / "episode.png", "--record", "--json", tmp_path / "record.json"]
    result = run_script("tools.evaluate", *args)
    assert result.returncode == 0, result.stderr
    # the record says which classes it measured, and which the model trained on (all here)
    with open(tmp_path / "record.json") as f:
        record = json.load(f)
    assert record["mnist_test_recognition"]["classes"] == ["5", "6", "7", "8", "9"]
    assert record["model"]["trained_classes"] is None
    assert "test recognition (50 images, 5 classes): precision@1" in result.stdout
    assert "5-way 1-shot" in result.stdout and "(95% " in result.stdout
    assert "open set (gallery of 3 per class, 2 class(es) left out" in result.stdout
    assert os.path.getsize(tmp_path / "episode.png") > 0
    recognition = read_metadata(str(model))["mnist_test_recognition"]
    assert 0 <= recognition["precision_at_1"] <= 1
    assert recognition["5_way_1_shot"]["episodes"] == 50
    # 8 and 9 left out of the gallery: the rest of 5, 6 and 7 query it
    assert recognition["open_set"]["known_queries"] == 3 * 10 - 3 * 3
    assert recognition["open_set"]["unknown_queries"] == 2 * 10
    # the episodes are seeded: the same command gives the same figures
    assert run_script("tools.evaluate", *args).stdout == result.stdout


def test_evaluate_measures_the_open_set_against_a_gallery_folder(trained_output, tiny_npz,
                                                                 tmp_path):
    gallery = tmp_path / "gallery"
    result = run_script("tools.make_gallery", "--output", gallery, "--per-class", 3)
    assert result.returncode == 0, result.stderr
    model = trained_output[0] / "siamese_model"
    result = run_script("tools.evaluate", "--model", model, "--dataset", tiny_npz, "--digits",
                        0, "--episodes", 10, "--gallery", gallery)
    assert result.returncode == 0, result.stderr
    # the tiny test set holds ten of each digit: the 8s and 9s are the classes it lacks
    assert f"against the gallery {gallery} (24 images, threshold " in result.stdout
    assert "of 20 queries of classes it lacks unknown" in result.stdout
    assert "of 80 others right" in result.stdout


def test_evaluate_says_why_a_dataset_has_no_open_set_line(trained_output, tmp_path):
    from conftest import write_digit_classes

    write_digit_classes(tmp_path / "three" / "train", 4)
    write_digit_classes(tmp_path / "three" / "test", 4, seed=1)
    (output, _) = trained_output
    result = run_script("tools.evaluate", "--model", output / "siamese_model", "--dataset",
                        tmp_path / "three", "--digits", 0, "--ways", 3, "--episodes", 20)
    assert result.returncode == 0, result.stderr
    assert "no test open set: its gallery takes 10 images of each class" in result.stdout
