import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(script, *args, env=None, cwd=None, fresh=False):
    """Run one of the project's scripts (a path ending in .py) or modules (tools.evaluate, run
    as with -m) as its command line would, from the repository's root (or cwd); returns a
    CompletedProcess. In this process, which has TensorFlow loaded already (most of a fresh
    interpreter's start), unless fresh or env ask for a fresh interpreter: for what only a
    process of its own shows (TensorFlow's own log lines, signals, the environment)."""
    command = ([os.path.join(ROOT, str(script))] if str(script).endswith(".py")
               else ["-m", str(script)])
    arguments = [*command, *map(str, args)]
    if fresh or env is not None:
        fullEnv = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2",
                   "PYTHONPATH": ROOT, **(env or {})}
        return subprocess.run([sys.executable, *arguments], capture_output=True, text=True,
                              env=fullEnv, cwd=cwd or ROOT, timeout=600)
    return _run_in_process(arguments, cwd or ROOT)


def _run_in_process(arguments, cwd=ROOT):
    import contextlib
    import io
    import runpy
    import traceback

    (stdout, stderr) = (io.StringIO(), io.StringIO())
    (savedArgv, savedCwd) = (sys.argv, os.getcwd())
    returncode = 0
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                if arguments[0] == "-m":
                    sys.argv = [arguments[1], *arguments[2:]]
                    runpy.run_module(arguments[1], run_name="__main__", alter_sys=True)
                else:
                    sys.argv = list(arguments)
                    runpy.run_path(arguments[0], run_name="__main__")
            except SystemExit as e:
                if isinstance(e.code, str):  # sys.exit("[ERROR] ...") prints it, exits 1
                    print(e.code, file=sys.stderr)
                    returncode = 1
                else:
                    returncode = e.code or 0
            except BaseException:  # what a fresh interpreter would print and exit 1 on
                traceback.print_exc()
                returncode = 1
    finally:
        sys.argv = savedArgv
        os.chdir(savedCwd)
        import matplotlib.pyplot as plt
        plt.close("all")
    return subprocess.CompletedProcess(arguments, returncode, stdout.getvalue(),
                                       stderr.getvalue())


@pytest.fixture(autouse=True)
def float32_policy_after_each_test():
    """A training script run in this process sets Keras's global precision policy; the next
    test starts from the default again."""
    yield
    if "keras" in sys.modules:
        import keras
        keras.mixed_precision.set_global_policy("float32")


def load_script(name="test_siamese_network.py"):
    """One of the project's scripts as a module, loaded by path: the test script shares its
    name with tests/test_siamese_network.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"script_{name[:-3]}",
                                                  os.path.join(ROOT, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_lines(stderr):
    """stderr without TensorFlow's start-up chatter."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith(("I0000", "W0000", "E0000", "WARNING: All"))
            and "cuda" not in line.lower() and "oneDNN" not in line
            and "rebuild TensorFlow" not in line and "cpu_feature_guard" not in line]


def assert_clean_error(result, *fragments):
    """One clear [ERROR] line, no traceback, a non-zero exit."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in error_lines(result.stderr) if line.startswith("[ERROR]")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture(scope="session")
def digit_images():
    """Rendered digits (not MNIST) scaled to [0, 1] with a channel axis: 600 to train on and
    200 to validate on, as ((x, y), (xTest, yTest))."""
    from pyimagesearch.data.digits import make_digits
    (x, y) = make_digits(600, seed=1)
    (xt, yt) = make_digits(200, seed=2)
    return ((x[..., np.newaxis].astype("float32") / 255.0, y),
            (xt[..., np.newaxis].astype("float32") / 255.0, yt))


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory):
    """A tiny MNIST-layout .npz of rendered digits (not MNIST): 300 train, 100 test images."""
    from pyimagesearch.data.digits import make_digits
    (trainX, trainY) = make_digits(300, seed=1)
    (testX, testY) = make_digits(100, seed=2)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x_train=trainX, y_train=trainY.astype(np.uint8), x_test=testX,
             y_test=testY.astype(np.uint8))
    return path


@pytest.fixture(scope="session")
def trained_output(tiny_npz, tmp_path_factory):
    """The training script's output folder after one epoch on tiny_npz."""
    output = tmp_path_factory.mktemp("output")
    result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--epochs", 1,
                        "--output", output, "--seed", 3)
    assert result.returncode == 0, result.stdout + result.stderr
    return output, result


@pytest.fixture(scope="session")
def contrastive_output(tiny_npz, tmp_path_factory):
    """The training script's output folder after one contrastive epoch on tiny_npz."""
    output = tmp_path_factory.mktemp("contrastive")
    result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--epochs", 1,
                        "--output", output, "--seed", 3, "--loss", "contrastive",
                        "--margin", "1.5")
    assert result.returncode == 0, result.stdout + result.stderr
    return output, result


# two colours of one grey level (OpenCV's 0.299 R + 0.587 G + 0.114 B rounds both to 101):
# a grayscale model cannot tell them apart, only a colour one can
SAME_GREY_COLOURS = {"warm red": (200, 50, 100), "cool blue": (50, 107, 200)}


def write_colour_only_classes(root, perClass, seed=0, size=24):
    """Class folders of random rectangles on black, same shapes in every class, one colour per
    class (SAME_GREY_COLOURS, as RGB): only colour tells the classes apart."""
    import cv2

    rng = np.random.default_rng(seed)
    for (name, (red, green, blue)) in SAME_GREY_COLOURS.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(perClass):
            image = np.zeros((size, size, 3), np.uint8)
            for _ in range(2):
                (x, y) = rng.integers(0, size - 6, 2)
                (w, h) = rng.integers(4, size // 2, 2)
                image[y:y + h, x:x + w] = (blue, green, red)  # OpenCV writes BGR
            cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    return root


def write_digit_classes(root, perClass, seed=0, classNames=("zero", "one", "two")):
    """Class folders of rendered digits (not MNIST): classNames[d] holds digits d, in mixed
    formats and sizes (28x28 PNG, 40x40 JPEG, 16-bit PNG, colour BMP, 4-channel PNG, TIFF)."""
    import cv2

    from pyimagesearch.data.digits import render_digit

    rng = np.random.default_rng(seed)
    for (digit, name) in enumerate(classNames):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(perClass):
            image = render_digit(digit, rng)
            kind = i % 6
            if kind == 1:
                (image, ext) = (cv2.resize(image, (40, 40)), "jpg")
            elif kind == 2:
                (image, ext) = (image.astype(np.uint16) * 257, "png")
            elif kind == 3:
                (image, ext) = (cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), "bmp")
            elif kind == 4:
                (image, ext) = (cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA), "png")
            elif kind == 5:
                ext = "tiff"
            else:
                ext = "png"
            cv2.imwrite(str(folder / f"{i:03d}.{ext}"), image)
    return root


def write_alphabets(root, alphabets=(("Alpha", 4), ("Beta", 3)), drawers=3, seed=0,
                    wrapper=None):
    """An Omniglot-like tree of rendered digits (not Omniglot's drawings) as dark strokes on
    white: ALPHABET/characterNN/ID_DD.png, DD the drawer; alphabets is (name, characters)
    pairs, character n of every alphabet a digit n (so alphabets share their shapes).
    wrapper puts the tree in a folder of that name, as Omniglot's zips do."""
    import cv2

    from pyimagesearch.data.digits import render_digit

    rng = np.random.default_rng(seed)
    base = root / wrapper if wrapper else root
    for (a, (alphabet, characters)) in enumerate(alphabets):
        for c in range(characters):
            folder = base / alphabet / f"character{c + 1:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for d in range(drawers):
                image = 255 - cv2.resize(render_digit(c % 10, rng), (32, 32))
                cv2.imwrite(str(folder / f"{a + 1:02d}{c + 1:02d}_{d + 1:02d}.png"), image)
    return root


def zip_folder(folder, path):
    """Zip folder's files (paths relative to folder) into path; returns path."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return path


# how long a test waits on a server of its own before failing
TIMEOUT = 60
# the token the tests' servers take writes with
TOKEN = "test-token"


class RunningServer:
    """serve_siamese_network's application for a service, served by uvicorn in a thread of
    this process on a free port of 127.0.0.1, as the script serves it; its client sends the
    server's token (TOKEN), as a client that writes to the gallery does."""

    def __init__(self, service, mostBytes=None, requestSeconds=None, mostConnections=None):
        import httpx
        import uvicorn

        from pyimagesearch.serving.server import (
            MOST_BYTES,
            create_app,
            listening_socket,
            server_config,
        )

        self.service = service
        listening = listening_socket("127.0.0.1", 0)
        self.port = listening.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(service, mostBytes or MOST_BYTES, TOKEN, port=self.port)
        self.server = uvicorn.Server(server_config(app, requestSeconds, mostConnections))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [listening]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no server"
            time.sleep(0.05)
        self.client = httpx.Client(base_url=self.url, timeout=TIMEOUT,
                                   headers={"Authorization": f"Bearer {TOKEN}"})

    def stop(self):
        self.client.close()
        self.server.should_exit = True
        self.thread.join(TIMEOUT)
        self.service.close()


# NASA's portrait of an astronaut (public domain): the one real face photo the tests hold
ASTRONAUT = os.path.join(ROOT, "tests", "faces", "astronaut.jpg")


def write_people(root, perPerson=8):
    """Two made-up "people" (the astronaut photo and its mirror, moved and under other
    light) of perPerson photos each in class folders under root, and a photo without a face
    among the first one's."""
    import cv2

    photo = cv2.imread(ASTRONAUT)
    rng = np.random.default_rng(0)
    for (person, flip) in (("collins", False), ("mirrored", True)):
        os.makedirs(root / person)
        for i in range(perPerson):
            light = rng.uniform(0.6, 1.3)
            shifted = np.roll(photo, int(rng.integers(-10, 10)), axis=1)
            image = np.clip(shifted.astype(np.float32) * light, 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / person / f"{i}.jpg"), image[:, ::-1] if flip else image)
    cv2.imwrite(str(root / "collins" / "wall.png"), np.full((64, 64), 90, np.uint8))
