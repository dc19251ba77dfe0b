import csv
import os

import keras
import numpy as np
import pytest
from conftest import run_script

from pyimagesearch.config import PRECISIONS
from pyimagesearch.data.pairs import make_pair_indices, pairs_by_anchor
from pyimagesearch.models.model_io import read_metadata
from pyimagesearch.models.views import build_anchor_model
from pyimagesearch.search.evaluation import evaluate_pairs
from pyimagesearch.siamese_network import build_pair_model, build_siamese_model
from pyimagesearch.training.callbacks import EpochTimer, default_precision, get_strategy


def test_default_precision_follows_the_hardware(monkeypatch):
    import tensorflow as tf
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    precision = default_precision()
    assert precision in PRECISIONS
    if not tf.config.list_physical_devices("GPU"):
        flags = open("/proc/cpuinfo").read()
        native = "avx512_bf16" in flags or "amx_bf16" in flags
        assert precision == ("mixed_bfloat16" if native else "float32")
        # oneDNN held to an instruction set without bfloat16 would emulate it
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
        assert default_precision() == "float32"
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
        assert default_precision() == ("mixed_bfloat16" if native else "float32")


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="strategy must be one of"):
        get_strategy("horovod")


def test_epoch_timer_adds_training_seconds_and_cores_used():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=2, verbose=0,
                        callbacks=[EpochTimer()])
    assert len(history.history["seconds"]) == 2
    assert all(s > 0 for s in history.history["seconds"])
    # CPU time over wall time: between idle and every core busy (with timer slack)
    assert all(0 <= c <= os.cpu_count() + 0.5 for c in history.history["cores"])


def test_anchor_view_shares_the_pair_models_weights():
    keras.utils.set_random_seed(0)
    model = build_pair_model((28, 28, 1))
    trainer = build_anchor_model(model)
    assert trainer.count_params() == model.count_params() == 19890
    x = np.random.default_rng(0).random((3, 4, 28, 28, 1), dtype=np.float32)[0]
    both = trainer.predict([x[:2], x[2:], x[[3, 2]]], verbose=0)
    np.testing.assert_allclose(both[:, 0], model.predict([x[:2], x[2:]], verbose=0)[:, 0],
                               rtol=1e-5)
    np.testing.assert_allclose(both[:, 1], model.predict([x[:2], x[[3, 2]]],
                                                         verbose=0)[:, 0], rtol=1e-5)
    # training the view trains the pair model
    before = model.get_weights()[0].copy()
    trainer.compile(loss="binary_crossentropy", optimizer="adam")
    trainer.fit([x[:2], x[2:], x[[3, 2]]], np.array([[1, 0], [1, 0]], np.float32), verbose=0)
    assert not np.allclose(model.get_weights()[0], before)


@pytest.fixture(scope="module")
def anchor_data(digit_images):
    ((x, y), (xt, yt)) = digit_images
    (rows, rowLabels) = pairs_by_anchor(*make_pair_indices(y, rng=10))
    (testIdx, testLabels) = make_pair_indices(yt, rng=11)
    return (x[rows[:, 0]], x[rows[:, 1]], x[rows[:, 2]]), rowLabels, \
        (xt[testIdx[:, 0]], xt[testIdx[:, 1]]), testLabels


def train_anchor_view(anchor_data, precision, fastDropout, seed=0):
    (inputs, labels, testPairs, testLabels) = anchor_data
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(seed)
        sister = build_siamese_model((28, 28, 1), fastDropout=fastDropout)
        model = build_pair_model((28, 28, 1), sister=sister)
        trainer = build_anchor_model(model)
        trainer.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.01))
        trainer.fit(list(inputs), labels, batch_size=16, epochs=3, verbose=0)
        scores = model.predict(list(testPairs), verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return evaluate_pairs(scores, testLabels, "similarity", 0.5)["accuracy"]


def test_fast_path_learns_what_the_float32_path_learns(anchor_data):
    # float32 with Keras's Dropout against this CPU's default path with the cheaper dropout
    # masks: bfloat16 where the CPU has it (elsewhere it is emulated, several times slower, and
    # nobody's default); three epochs take either past 0.64 (a model that learns nothing
    # stays at 0.50)
    float32 = train_anchor_view(anchor_data, "float32", fastDropout=False)
    fast = train_anchor_view(anchor_data, default_precision(), fastDropout=True)
    assert float32 >= 0.6 and fast >= 0.6
    assert abs(float32 - fast) <= 0.08


def test_mirrored_strategy_over_two_cpu_devices(tiny_npz, tmp_path):
    # two logical CPU devices stand in for two GPUs; they must be made before TF starts
    launcher = tmp_path / "two_cpus.py"
    launcher.write_text(
        "import runpy, sys\n"
        "import tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "tf.config.set_logical_device_configuration(\n"
        "    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    result = run_script(str(launcher), "train_siamese_network.py", "--dataset", tiny_npz,
                        "--epochs", 1, "--output", tmp_path / "out", "--strategy", "mirrored",
                        fresh=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[INFO] mirrored strategy over 2 replica(s)" in result.stdout
    assert (tmp_path / "out" / "siamese_model" / "saved_model.pb").exists()


def test_multiworker_strategy_runs_as_one_worker_without_tf_config(tiny_npz, tmp_path):
    result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--epochs", 1,
                        "--output", tmp_path / "out", "--strategy", "multiworker",
                        "--precision", "float32", fresh=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[INFO] multiworker strategy over 1 replica(s)" in result.stdout
    assert (tmp_path / "out" / "siamese_model" / "saved_model.pb").exists()


def test_resampled_pairs_train_and_are_recorded(tiny_npz, tmp_path):
    result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--epochs", 2,
                        "--output", tmp_path / "out", "--resample-pairs", "--seed", 1)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = list(csv.DictReader(open(tmp_path / "out" / "training_log.csv")))
    assert len(rows) == 2 and all(float(row["seconds"]) > 0 for row in rows)
    metadata = read_metadata(str(tmp_path / "out" / "siamese_model"))
    assert metadata["resample_pairs"] is True and metadata["validation"]["pairs"] == 200


def test_a_broken_tf_config_gets_a_clear_error(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{cluster: oops")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        get_strategy("multiworker")


def test_the_progress_bar_never_counts_past_the_epochs_steps():
    # 20 steps, 16 a call: Keras reports the second call as steps 17-32
    from pyimagesearch.training.callbacks import ProgressBar

    bar = ProgressBar()
    bar.set_params({"verbose": 1, "epochs": 1, "steps": 20})
    bar.on_train_begin()
    bar.on_epoch_begin(0)
    bar.on_train_batch_end(15)
    bar.on_train_batch_end(31)
    assert bar.seen == 20 and bar.progbar._seen_so_far == 20
