import os

import cv2
import numpy as np
from conftest import ROOT, run_script

from pyimagesearch.model_io import read_metadata


def test_make_examples_reproduces_the_committed_examples(tmp_path):
    result = run_script("tools/make_examples.py", "--output", tmp_path)
    assert result.returncode == 0, result.stderr
    for i in range(1, 14):
        name = f"image_{i:02d}.png"
        made = cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED)
        committed = cv2.imread(os.path.join(ROOT, "examples", name), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(made, committed), name


def test_evaluate_measures_and_records(trained_output, tiny_npz):
    (output, _) = trained_output
    model = output / "siamese_model"
    result = run_script("tools/evaluate.py", "--model", model, "--dataset", tiny_npz,
                        "--digits", 40, "--record")
    assert result.returncode == 0, result.stderr
    assert "[INFO] MNIST test pairs (200): accuracy" in result.stdout
    assert "[INFO] rendered digit pairs (80): accuracy" in result.stdout
    metadata = read_metadata(str(model))
    assert metadata["mnist_test_pairs"]["pairs"] == 200
    assert metadata["rendered_digits"]["pairs"] == 80
    assert "validation" in metadata  # the training script's own figures stay
