"""Generated bad galleries and folders thrown at the scripts, each in bounded time: every run
ends with answers or with one [ERROR] line, never a traceback or a hang."""
import os
import signal

import cv2
import numpy as np
import pytest
from conftest import ROOT, run_script

from pyimagesearch.data.digits import render_digit

MODEL = os.path.join(ROOT, "output", "small_vgg_siamese_model")
# seconds one script run may take before the test calls it a hang
BOUND = 120


def bad_entry(rng, folder, i):
    """One entry of a kind that has broken a script before, or could."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"x{i}.png")
    kind = rng.integers(11)
    if kind == 0:
        open(path, "wb").close()                                   # empty file
    elif kind == 1:
        image = cv2.imencode(".png", render_digit(int(rng.integers(10)), rng))[1].tobytes()
        with open(path, "wb") as f:
            f.write(image[:int(rng.integers(1, len(image)))])      # cut short
    elif kind == 2:
        with open(path, "wb") as f:
            f.write(rng.bytes(int(rng.integers(1, 400))))           # noise
    elif kind == 3:
        os.mkfifo(path)                                             # a FIFO named .png
    elif kind == 4:
        os.symlink(os.path.join(folder, "nowhere.png"), path)       # dangling link
    elif kind == 5:
        os.makedirs(path)                                           # a folder named .png
    elif kind == 6:
        cv2.imwrite(path, np.zeros((1, 1), np.uint8))               # a single pixel
    elif kind == 7:
        hidden = os.path.join(folder, ".thumbnails")
        os.makedirs(hidden, exist_ok=True)
        cv2.imwrite(os.path.join(hidden, f"t{i}.png"), render_digit(1, rng))
    elif kind == 8:
        cv2.imwrite(path, (rng.random((5, 300, 3)) * 65535).astype(np.uint16))  # odd shape
    elif kind == 9:
        os.symlink(folder, os.path.join(folder, f"loop{i}"))        # a link loop
    else:
        with open(os.path.join(folder, f"notes{i}.txt"), "w") as f:
            f.write("not an image")


def make_tree(rng, root, classes=True):
    """A gallery of a few good digits and many bad entries, in class folders or flat."""
    for c in range(int(rng.integers(0, 4))):
        folder = os.path.join(root, str(c)) if classes else root
        os.makedirs(folder, exist_ok=True)
        for j in range(int(rng.integers(0, 3))):
            cv2.imwrite(os.path.join(folder, f"good{c}_{j}.png"), render_digit(c, rng))
    for i in range(int(rng.integers(3, 9))):
        folder = os.path.join(root, str(int(rng.integers(3)))) if classes else root
        bad_entry(rng, folder, i)
    os.makedirs(root, exist_ok=True)
    return root


def bounded(script, *args):
    """run_script, failing the test if it takes longer than BOUND seconds."""
    def hang(signum, frame):
        raise TimeoutError(f"{script} hung on {args}")
    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(BOUND)
    try:
        return run_script(script, *args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_answered_or_refused(result):
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    if result.returncode:
        errors = [line for line in result.stderr.splitlines() if line.startswith("[ERROR]")]
        assert len(errors) == 1, result.stderr


@pytest.mark.parametrize("seed", range(4))
def test_generated_bad_galleries(seed, tmp_path):
    rng = np.random.default_rng(seed)
    gallery = make_tree(rng, str(tmp_path / "gallery"), classes=bool(seed % 2))
    queries = make_tree(rng, str(tmp_path / "queries"), classes=False)
    result = bounded("search_siamese_network.py", "--gallery", gallery, "--query", queries,
                     "--model", MODEL, "--output", os.path.join(gallery, "out"), "--top",
                     int(rng.integers(1, 50)))
    assert_answered_or_refused(result)
    result = bounded("test_siamese_network.py", "--input", gallery, "--model", MODEL,
                     "--output", tmp_path / "pairs", "--pairs", int(rng.integers(1, 10 ** 6)))
    assert_answered_or_refused(result)


@pytest.mark.parametrize("seed", range(1))
def test_generated_bad_class_folders_train_or_are_refused(seed, tmp_path):
    rng = np.random.default_rng(100 + seed)
    root = str(tmp_path / "classes")
    for c in range(3):
        os.makedirs(os.path.join(root, f"c{c}"))
        for j in range(4):
            cv2.imwrite(os.path.join(root, f"c{c}", f"{j}.png"), render_digit(c, rng))
    for i in range(6):
        bad_entry(rng, os.path.join(root, f"c{int(rng.integers(3))}"), i)
    result = bounded("train_siamese_network.py", "--dataset", root, "--epochs", 1,
                     "--output", tmp_path / "out", "--seed", seed)
    assert_answered_or_refused(result)
