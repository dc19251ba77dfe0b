import os
import shutil

import cv2
import numpy as np
import pytest
from conftest import ROOT, assert_clean_error, load_script, run_script

from pyimagesearch.data.digits import make_digits


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    (images, labels) = make_digits(6, seed=9)
    for (i, image) in enumerate(images):
        cv2.imwrite(str(folder / f"digit_{i}.png"), image)
    return folder


def result_lines(stdout):
    return [line for line in stdout.splitlines() if line.startswith("[RESULT]")]


def test_scores_ten_pairs_and_saves_figures(trained_output, digit_folder, tmp_path):
    (output, _) = trained_output
    result = run_script("test_siamese_network.py", "--input", digit_folder, "--model",
                        output / "siamese_model", "--output", tmp_path / "figs")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["[INFO] loading test dataset...", "[INFO] loading siamese model..."]
    pairs = result_lines(result.stdout)
    assert len(pairs) == 10
    for (i, line) in enumerate(pairs):
        assert line.startswith(f"[RESULT] pair #{i + 1}: digit_")
        assert " - similarity: " in line and line.endswith(("- same", "- different"))
    saved = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert saved == ["montage.png"] + [f"pair_{i:02d}.png" for i in range(1, 11)]


def run_in_process(capsys, *args):
    """The test script's [RESULT] lines, from its main() called in this process."""
    load_script().main([str(arg) for arg in args])
    return result_lines(capsys.readouterr().out)


def test_draw_is_the_same_whatever_the_listing_order(trained_output, digit_folder, tmp_path,
                                                     capsys):
    (output, _) = trained_output
    # the same files copied in another order (so listed in another order by the file system)
    # give the same draw: it follows the sorted names
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for name in sorted(os.listdir(digit_folder), reverse=True):
        shutil.copy(digit_folder / name, shuffled / name)
    first = run_in_process(capsys, "--input", digit_folder, "--model",
                           output / "siamese_model", "--pairs", 4, "--seed", 7)
    again = run_in_process(capsys, "--input", shuffled, "--model", output / "siamese_model",
                           "--pairs", 4, "--seed", 7)
    assert len(first) == 4 and first == again
    np.random.seed(7)
    expected = np.random.choice(6, size=(4, 2))
    for line, (a, b) in zip(first, expected):
        assert f"digit_{a}.png vs digit_{b}.png" in line


def test_all_pairs_are_scored_in_one_call(trained_output, digit_folder, monkeypatch):
    from pyimagesearch.models.model_io import SiameseModel
    (output, _) = trained_output
    calls = []
    original = SiameseModel.score_batch

    def counting_score_batch(self, a, b):
        calls.append(len(a))
        return original(self, a, b)

    monkeypatch.setattr(SiameseModel, "score_batch", counting_score_batch)
    load_script().main(["--input", str(digit_folder), "--model",
                        str(output / "siamese_model"), "--pairs", "7"])
    assert calls == [7]


def test_threshold_decides_same_or_different(trained_output, digit_folder, capsys):
    (output, _) = trained_output
    model = output / "siamese_model"
    # a sigmoid's similarity lies strictly between 0 and 1: above 0 always, above 1 never
    low = run_in_process(capsys, "--input", digit_folder, "--model", model, "--threshold", 0)
    high = run_in_process(capsys, "--input", digit_folder, "--model", model, "--threshold", 1)
    assert len(low) == len(high) == 10
    assert all(line.endswith("- same") for line in low)
    assert all(line.endswith("- different") for line in high)


def test_odd_images_are_converted_or_skipped(trained_output, tmp_path):
    (output, _) = trained_output
    folder = tmp_path / "mixed"
    folder.mkdir()
    cv2.imwrite(str(folder / "colour_big.jpg"), np.full((90, 60, 3), 200, np.uint8))
    cv2.imwrite(str(folder / "plain.png"), make_digits(1, seed=0)[0][0])
    (folder / "broken.png").write_bytes(b"not an image")
    result = run_script("test_siamese_network.py", "--input", folder, "--model",
                        output / "siamese_model", "--pairs", 3)
    assert result.returncode == 0, result.stderr
    assert "[WARNING] skipping " in result.stdout and "broken.png" in result.stdout
    assert "colour_big.jpg: colour to grayscale, resized from 60x90 to 28x28" in result.stdout
    assert all("broken" not in line for line in result_lines(result.stdout))


def test_bad_input_gets_one_clear_line(trained_output, tmp_path):
    (output, _) = trained_output
    model = output / "siamese_model"
    result = run_script("test_siamese_network.py", "--input", tmp_path / "nowhere",
                        "--model", model)
    assert_clean_error(result, "--input folder", "does not exist")

    result = run_script("test_siamese_network.py", "--input", ROOT + "/examples",
                        "--model", tmp_path / "no_model")
    assert_clean_error(result, "no model at")

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "junk.png").write_bytes(b"junk")
    result = run_script("test_siamese_network.py", "--input", tmp_path / "empty",
                        "--model", model)
    assert_clean_error(result, "no usable images")

    broken = tmp_path / "broken_model"
    shutil.copytree(model, broken)
    (broken / "saved_model.pb").write_bytes(b"garbage")
    result = run_script("test_siamese_network.py", "--input", ROOT + "/examples",
                        "--model", broken)
    assert_clean_error(result, "not a readable siamese SavedModel")

    result = run_script("test_siamese_network.py", "--input", ROOT + "/examples",
                        "--pairs", "0")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def paper_photo(path, digit):
    """A digit as a phone might see it: dark ink on light paper, large, off-centre, in colour."""
    image = np.full((120, 160, 3), 235, np.uint8)
    small = cv2.resize(255 - digit, (56, 56))
    image[10:66, 90:146] = np.minimum(image[10:66, 90:146], small[..., None])
    cv2.imwrite(str(path), image)


def test_two_files_score_exactly_that_pair(trained_output, tmp_path):
    (output, _) = trained_output
    (digits, _) = make_digits(2, seed=4)
    paper_photo(tmp_path / "zero.jpg", digits[0])
    paper_photo(tmp_path / "one.jpg", digits[1])
    result = run_script("test_siamese_network.py", "--input", tmp_path / "zero.jpg",
                        tmp_path / "one.jpg", "--model", output / "siamese_model",
                        "--output", tmp_path / "figs")
    assert result.returncode == 0, result.stderr
    pairs = result_lines(result.stdout)
    assert len(pairs) == 1 and pairs[0].startswith("[RESULT] pair #1: zero.jpg vs one.jpg")
    assert "zero.jpg: colour to grayscale, inverted dark ink on light paper to white on " \
           "black, cropped, fitted into 20x20 and centred like MNIST" in result.stdout
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["montage.png",
                                                                     "pair_01.png"]

    raw = run_script("test_siamese_network.py", "--input", tmp_path / "zero.jpg",
                     tmp_path / "one.jpg", "--model", output / "siamese_model", "--no-prepare")
    assert "inverted" not in raw.stdout and "resized from 160x120" in raw.stdout

    result = run_script("test_siamese_network.py", "--input", tmp_path / "zero.jpg",
                        tmp_path / "missing.jpg", "--model", output / "siamese_model")
    assert_clean_error(result, "--input file", "missing.jpg", "does not exist")
    result = run_script("test_siamese_network.py", "--input", "a", "b", "c")
    assert_clean_error(result, "one folder or two image files")


def test_contrastive_model_shows_distances(contrastive_output, digit_folder, capsys):
    (output, _) = contrastive_output
    model = output / "contrastive_siamese_model"
    lines = run_in_process(capsys, "--input", digit_folder, "--model", model, "--pairs", 4)
    assert len(lines) == 4 and all(" - distance: " in line for line in lines)
    # a distance is "same" below the threshold
    lines = run_in_process(capsys, "--input", digit_folder, "--model", model, "--pairs", 4,
                           "--threshold", 100)
    assert len(lines) == 4 and all(line.endswith("- same") for line in lines)


def test_a_model_without_metadata_uses_the_tutorial_defaults(trained_output, digit_folder,
                                                             tmp_path):
    (output, _) = trained_output
    old = tmp_path / "old_model"
    shutil.copytree(output / "siamese_model", old)
    (old / "metadata.json").unlink()
    result = run_script("test_siamese_network.py", "--input", digit_folder, "--model", old,
                        "--pairs", 3)
    assert result.returncode == 0, result.stderr
    assert all(" - similarity: " in line for line in result_lines(result.stdout))


def test_help_explains_every_flag():
    result = run_script("test_siamese_network.py", "--help")
    assert result.returncode == 0
    for flag in ("--input", "--pairs", "--seed", "--model", "--threshold", "--output",
                 "--prepare", "--no-prepare", "--verbose"):
        assert flag in result.stdout


def test_senseless_thresholds_are_refused_before_any_work(trained_output, contrastive_output):
    model = trained_output[0] / "siamese_model"
    for value in ("nan", "inf", "-inf", "1.5", "-0.1"):
        result = run_script("test_siamese_network.py", "--input", ROOT + "/examples",
                            "--model", model, f"--threshold={value}")
        assert_clean_error(result, "--threshold")
        assert "[INFO]" not in result.stdout
    # a distance may exceed 1, not fall below 0
    distanceModel = contrastive_output[0] / "contrastive_siamese_model"
    result = run_script("test_siamese_network.py", "--input", ROOT + "/examples", "--model",
                        distanceModel, "--threshold", "1.5", "--pairs", "1")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("field, value, message", [
    ("input_shape", "abc", "field 'input_shape'"),
    ("input_shape", [32, 32, 1], "field 'input_shape' says [32, 32, 1] but the SavedModel "
                                 "takes [28, 28, 1]"),
    ("score", "odds", "field 'score'")])
def test_tampered_metadata_gets_one_line_naming_the_field(trained_output, tmp_path, field,
                                                          value, message):
    import json
    model = tmp_path / "model"
    shutil.copytree(trained_output[0] / "siamese_model", model)
    metadata = json.loads((model / "metadata.json").read_text())
    metadata[field] = value
    (model / "metadata.json").write_text(json.dumps(metadata))
    result = run_script("test_siamese_network.py", "--input", ROOT + "/examples", "--model",
                        model, "--output", tmp_path / "figs")
    assert_clean_error(result, message, "metadata.json")
    assert not (tmp_path / "figs").exists()


def test_quiet_unless_asked(trained_output, tmp_path):
    import subprocess
    import sys
    env = {key: value for (key, value) in os.environ.items()
           if key != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, os.path.join(ROOT, "test_siamese_network.py"), "--input",
               os.path.join(ROOT, "examples"), "--model",
               str(trained_output[0] / "siamese_model"), "--output", str(tmp_path / "figs")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**env, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert len(result_lines(result.stdout)) == 10
    # --verbose lets TensorFlow's log lines through and answers the same (in this process:
    # only the quiet run needs a fresh TensorFlow)
    verbose = run_script(*command[1:], "--verbose")
    assert verbose.returncode == 0
    assert result_lines(verbose.stdout) == result_lines(result.stdout)


def test_pairs_beyond_what_exists_are_clipped_and_figures_capped(trained_output, digit_folder,
                                                                 tmp_path):
    (output, _) = trained_output
    result = run_script("test_siamese_network.py", "--input", digit_folder, "--model",
                        output / "siamese_model", "--output", tmp_path / "figs", "--pairs",
                        10 ** 12)
    assert result.returncode == 0, result.stderr
    assert "is more than the 36 pairs of 6 images: drawing 36" in result.stdout
    assert len(result_lines(result.stdout)) == 36
    from pyimagesearch.plotting import MOST_FIGURES

    many = tmp_path / "many"
    many.mkdir()
    (images, _) = make_digits(11, seed=3)
    for (i, image) in enumerate(images):
        cv2.imwrite(str(many / f"d{i}.png"), image)
    result = run_script("test_siamese_network.py", "--input", many, "--model",
                        output / "siamese_model", "--output", tmp_path / "capped", "--pairs",
                        MOST_FIGURES + 5)
    assert len(result_lines(result.stdout)) == MOST_FIGURES + 5
    assert f"drew the first {MOST_FIGURES} of {MOST_FIGURES + 5}" in result.stdout
    assert len(os.listdir(tmp_path / "capped")) == MOST_FIGURES + 1  # and the montage


def test_a_model_with_several_outputs_per_pair_is_refused(tmp_path, digit_folder):
    import keras

    a = keras.Input((28, 28, 1))
    b = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.Subtract()([a, b])))
    model = keras.Model([a, b], outputs)
    model.export(str(tmp_path / "three"), verbose=False)
    result = run_script("test_siamese_network.py", "--input", digit_folder, "--model",
                        tmp_path / "three", "--output", tmp_path / "figs")
    assert_clean_error(result, "3 outputs per pair")
