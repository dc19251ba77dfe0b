import csv

import numpy as np
import pytest
from conftest import assert_clean_error, run_script

from pyimagesearch.models.model_io import SiameseModel

INFO_LINES = ["[INFO] loading MNIST dataset...", "[INFO] preparing positive and negative pairs...",
              "[INFO] building siamese network...", "[INFO] compiling model...",
              "[INFO] training model...", "[INFO] evaluating siamese model...",
              "[INFO] validation pairs: ...", "[INFO] saving siamese model...",
              "[INFO] plotting training history...", "[INFO] wrote the model to ..."]


def info_lines(stdout):
    shortened = ("[INFO] validation pairs: ", "[INFO] wrote the model to ")
    return [next((start + "..." for start in shortened if line.startswith(start)), line)
            for line in stdout.splitlines() if line.startswith("[INFO]")]


def test_training_writes_model_plot_and_log(trained_output):
    (output, result) = trained_output
    assert info_lines(result.stdout) == INFO_LINES
    # not a terminal: one line an epoch, with the minutes the run has left
    assert [line for line in result.stdout.splitlines() if "run_left_min: 0" in line]
    # where it all went, said at the end
    assert (f"wrote the model to {output / 'siamese_model'}, its log to "
            f"{output / 'training_log.csv'} and its plots to {output / 'plot.png'}") \
        in result.stdout
    assert (output / "plot.png").read_bytes()[:4] == b"\x89PNG"
    assert (output / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert (output / "embeddings.png").read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader(open(output / "training_log.csv")))
    assert len(rows) == 1 and {"accuracy", "val_accuracy", "loss", "val_loss"} <= set(rows[0])
    model = SiameseModel(str(output / "siamese_model"))
    metadata = model.metadata
    assert (metadata["loss"], metadata["score"], metadata["threshold"]) == (
        "binary_crossentropy", "similarity", 0.5)
    assert metadata["epochs"] == 1 and metadata["seed"] == 3
    assert metadata["input_shape"] == [28, 28, 1] and metadata["dataset"].endswith("tiny.npz")
    assert {"tensorflow", "keras"} <= set(metadata["versions"])
    validation = metadata["validation"]
    assert validation["pairs"] == 200 and 0 <= validation["roc_auc"] <= 1
    assert f"accuracy {validation['accuracy']:.4f} at threshold 0.5000" in result.stdout
    scores = model.predict(np.zeros((2, 28, 28, 1)), np.ones((2, 28, 28, 1)))
    assert ((scores >= 0) & (scores <= 1)).all()


def test_contrastive_training_writes_its_own_files(contrastive_output):
    (output, result) = contrastive_output
    assert info_lines(result.stdout) == INFO_LINES
    assert sorted(p.name for p in output.iterdir()) == [
        "contrastive_embeddings.png", "contrastive_plot.png", "contrastive_roc.png",
        "contrastive_siamese_model", "contrastive_training_log.csv"]
    rows = list(csv.DictReader(open(output / "contrastive_training_log.csv")))
    assert "accuracy" not in rows[0] and "val_loss" in rows[0]
    model = SiameseModel(str(output / "contrastive_siamese_model"))
    metadata = model.metadata
    assert (metadata["loss"], metadata["score"], metadata["margin"]) == (
        "contrastive", "distance", 1.5)
    assert metadata["threshold"] == metadata["validation"]["best_threshold"]
    distances = model.predict(np.zeros((2, 28, 28, 1)), np.ones((2, 28, 28, 1)))
    assert (distances > 0).all()


def test_help_explains_every_flag():
    result = run_script("train_siamese_network.py", "--help")
    assert result.returncode == 0
    for flag in ("--dataset", "--epochs", "--batch-size", "--output", "--seed", "--loss",
                 "--margin", "--augment", "--no-augment", "--validation-split",
                 "--learning-rate", "--schedule", "--weight-decay", "--worker-timeout",
                 "--resample-pairs", "--verbose"):
        assert flag in result.stdout
    assert "--architecture {tutorial,small_vgg,conv4,characters,faces}" in result.stdout
    assert "--image-size HEIGHT WIDTH" in result.stdout
    assert "--color-mode {grayscale,rgb}" in result.stdout
    assert "--cache-images {auto,always,never}" in result.stdout


def test_offline_without_a_dataset_says_how_to_pass_one(tmp_path):
    # an empty Keras cache and a proxy that refuses every connection: no way to download
    env = {"KERAS_HOME": str(tmp_path / "keras"), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}
    result = run_script("train_siamese_network.py", "--epochs", 1, "--output", tmp_path / "o",
                        env=env)
    assert_clean_error(result, "could not download MNIST", "--dataset")
    assert not (tmp_path / "o" / "siamese_model").exists()


def test_bad_datasets_get_one_clear_line(tmp_path):
    (tmp_path / "corrupt.npz").write_bytes(b"garbage")
    np.savez(tmp_path / "one_class.npz", x_train=np.zeros((4, 28, 28), np.uint8),
             y_train=np.zeros(4, int), x_test=np.zeros((4, 28, 28), np.uint8),
             y_test=np.array([0, 1, 0, 1]))
    np.savez(tmp_path / "mismatch.npz", x_train=np.zeros((4, 28, 28), np.uint8),
             y_train=np.array([0, 1, 0]), x_test=np.zeros((4, 28, 28), np.uint8),
             y_test=np.array([0, 1, 0, 1]))
    for name, message in (("corrupt.npz", "not a readable .npz"),
                          ("one_class.npz", "single class"),
                          ("mismatch.npz", "one label per image"),
                          ("missing.npz", "does not exist")):
        result = run_script("train_siamese_network.py", "--dataset", tmp_path / name,
                            "--output", tmp_path / "o")
        assert_clean_error(result, message)
    assert not (tmp_path / "o" / "siamese_model").exists()


def test_bad_numbers_are_refused():
    # values argparse cannot read at all: its usage line and exit status 2
    for args in (["--epochs", "ten"], ["--loss", "hinge"], ["--architecture", "resnet"],
                 ["--schedule", "linear"], ["--color-mode", "cmyk"], ["--image-size", "28"]):
        result = run_script("train_siamese_network.py", *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "error:" in result.stderr
    # values out of range: one [ERROR] line naming the flag, exit status 1
    for args in (["--epochs", "0"], ["--embedding-dim", "0"], ["--batch-size", "-1"],
                 ["--margin", "0"], ["--margin", "nan"], ["--margin", "inf"],
                 ["--validation-split", "1"],
                 ["--validation-split", "-0.1"], ["--validation-split", "nan"],
                 ["--learning-rate", "0"], ["--learning-rate", "nan"],
                 ["--weight-decay", "-1"], ["--weight-decay", "nan"],
                 ["--worker-timeout", "0"], ["--worker-timeout", "inf"],
                 ["--image-size", "7", "28"], ["--image-size", "28", "100000"]):
        result = run_script("train_siamese_network.py", *args)
        assert_clean_error(result, args[0])
        assert result.returncode == 1


def test_ctrl_c_finishes_the_epoch_and_saves_what_was_learned(tiny_npz, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from conftest import ROOT
    command = [sys.executable, os.path.join(ROOT, "train_siamese_network.py"), "--dataset",
               str(tiny_npz), "--epochs", "50", "--output", str(tmp_path), "--seed", "1"]
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, env=env)
    lines = []
    for line in child.stdout:
        lines.append(line.rstrip())
        if line.startswith("Epoch 1/50"):
            child.send_signal(signal.SIGINT)
    assert child.wait(timeout=300) == 0, lines
    assert any(line.startswith("[INFO] training stopped after 1 of 50 epochs (add --resume")
               for line in lines)
    assert SiameseModel(str(tmp_path / "siamese_model")).metadata["epochs"] == 1
    assert (tmp_path / "plot.png").exists()


def test_several_steps_per_execution_learn_exactly_what_one_does(tiny_npz, tmp_path,
                                                                 monkeypatch):
    # 10 steps per epoch here: not a multiple of config.STEPS_PER_EXECUTION, so the last,
    # shorter run of steps is covered too
    import train_siamese_network
    from pyimagesearch import config

    logs = []
    for steps in (1, config.STEPS_PER_EXECUTION):
        monkeypatch.setattr(config, "STEPS_PER_EXECUTION", steps)
        output = tmp_path / str(steps)
        train_siamese_network.main(["--dataset", str(tiny_npz), "--epochs", "2", "--seed", "5",
                                    "--output", str(output), "--precision", "float32"])
        logs.append(list(csv.DictReader(open(output / "training_log.csv"))))
    assert config.STEPS_PER_EXECUTION > 1
    for (one, several) in zip(*logs):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(float(several[key]), float(one[key]), rtol=1e-5)


def test_the_tutorial_default_records_its_choices(trained_output):
    metadata = SiameseModel(str(trained_output[0] / "siamese_model")).metadata
    assert (metadata["architecture"], metadata["augment"], metadata["validation_split"]) == (
        "tutorial", False, 0.0)
    assert metadata["threshold_chosen_on"].startswith("test pairs") and "test" not in metadata


@pytest.fixture(scope="module")
def small_vgg_runs(tiny_npz, tmp_path_factory):
    """Two one-epoch small_vgg trainings on tiny_npz with the same seed: the second with the
    test labels shuffled, so anything the test labels decide would differ."""
    shuffled = tmp_path_factory.mktemp("shuffled") / "tiny_shuffled.npz"
    with np.load(tiny_npz) as data:
        arrays = dict(data)
    arrays["y_test"] = np.random.default_rng(0).permutation(arrays["y_test"])
    np.savez(shuffled, **arrays)
    runs = []
    for dataset in (tiny_npz, shuffled):
        output = tmp_path_factory.mktemp("small_vgg")
        result = run_script("train_siamese_network.py", "--dataset", dataset, "--epochs", 2,
                            "--output", output, "--seed", 4, "--architecture", "small_vgg",
                            "--precision", "float32")
        assert result.returncode == 0, result.stdout + result.stderr
        runs.append((output, result))
    return runs


def test_small_vgg_chooses_its_threshold_on_its_validation_split(small_vgg_runs):
    (output, result) = small_vgg_runs[0]
    assert sorted(p.name for p in output.iterdir()) == [
        "small_vgg_embeddings.png", "small_vgg_plot.png", "small_vgg_roc.png",
        "small_vgg_siamese_model", "small_vgg_training_log.csv"]
    assert "[INFO] holding out 30 of 300 training images (10% of each class, seed 4) as " \
           "validation pairs" in (
        result.stdout)
    assert "[INFO] test pairs: accuracy" in result.stdout
    metadata = SiameseModel(str(output / "small_vgg_siamese_model")).metadata
    assert (metadata["architecture"], metadata["augment"], metadata["validation_split"]) == (
        "small_vgg", True, 0.1)
    assert metadata["threshold_chosen_on"].startswith("validation split: 30 training images")
    assert metadata["validation"]["pairs"] == 60 and metadata["test"]["pairs"] == 200
    assert metadata["threshold"] == metadata["validation"]["best_threshold"]
    assert metadata["test"]["threshold"] == metadata["threshold"]
    assert 1 <= metadata["epoch_kept"] <= metadata["epochs"] == 2


def test_the_test_labels_never_reach_the_choice(small_vgg_runs):
    # same images, same seed, test labels shuffled: the same weights, epoch and threshold,
    # only the test figures change
    (first, second) = (SiameseModel(str(output / "small_vgg_siamese_model")).metadata
                       for (output, _) in small_vgg_runs)
    assert first["threshold"] == second["threshold"]
    assert first["validation"] == second["validation"]
    assert first["epoch_kept"] == second["epoch_kept"]
    assert first["test"]["roc_auc"] != second["test"]["roc_auc"]


def test_two_trainings_into_one_folder_leave_one_whole_model(tiny_npz, tmp_path):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    # and quiet, as a user runs it: no TF_CPP_MIN_LOG_LEVEL, so TensorFlow's own log lines
    # are the script's to hide
    env = {**{key: value for (key, value) in os.environ.items()
              if key != "TF_CPP_MIN_LOG_LEVEL"}, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    children = [subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "train_siamese_network.py"), "--dataset",
         str(tiny_npz), "--epochs", "1", "--output", str(tmp_path), "--seed", str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for seed in (1, 2)]
    # the second to reach the folder while the first trains is refused in one line
    for child in children:
        (out, err) = child.communicate(timeout=300)
        if child.returncode == 0:
            assert err == "", err
        else:
            assert_clean_error(subprocess.CompletedProcess(child.args, child.returncode, out,
                                                           err), "is in use by another training")
    assert any(child.returncode == 0 for child in children)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "embeddings.png", "plot.png", "roc.png", "siamese_model", "training_log.csv"]
    model = SiameseModel(str(tmp_path / "siamese_model"))
    assert model.metadata["seed"] in (1, 2)
    assert model.predict(np.zeros((1, 28, 28, 1)), np.zeros((1, 28, 28, 1))).shape == (1,)
