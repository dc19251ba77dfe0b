import csv

import numpy as np
from conftest import assert_clean_error, run_script

from pyimagesearch.model_io import SiameseModel

INFO_LINES = ["[INFO] loading MNIST dataset...", "[INFO] preparing positive and negative pairs...",
              "[INFO] building siamese network...", "[INFO] compiling model...",
              "[INFO] training model...", "[INFO] evaluating siamese model...",
              "[INFO] validation pairs: ...", "[INFO] saving siamese model...",
              "[INFO] plotting training history..."]


def info_lines(stdout):
    return [line if not line.startswith("[INFO] validation pairs: ") else
            "[INFO] validation pairs: ..." for line in stdout.splitlines()
            if line.startswith("[INFO]")]


def test_training_writes_model_plot_and_log(trained_output):
    (output, result) = trained_output
    assert info_lines(result.stdout) == INFO_LINES
    assert (output / "plot.png").read_bytes()[:4] == b"\x89PNG"
    assert (output / "roc.png").read_bytes()[:4] == b"\x89PNG"
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
        "contrastive_plot.png", "contrastive_roc.png", "contrastive_siamese_model",
        "contrastive_training_log.csv"]
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
                 "--margin"):
        assert flag in result.stdout


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
    for args in (["--epochs", "0"], ["--batch-size", "-1"], ["--epochs", "ten"],
                 ["--margin", "0"], ["--loss", "hinge"]):
        result = run_script("train_siamese_network.py", *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "error:" in result.stderr


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
    assert "[INFO] training stopped after 1 of 50 epochs" in lines
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
