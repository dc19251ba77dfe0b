"""Training that survives a kill: --resume, refusals, and the models it never replaces."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, assert_clean_error, run_script, write_digit_classes

from pyimagesearch.training.checkpoints import TrainingLock, state_folder

# small_vgg: a validation split (so a kept epoch), augmentation (random layers) and a
# cosine schedule, everything a resumed run has to take up again; batches small enough for
# epochs of several saves (one every 16 steps with --checkpoint-minutes 0: an epoch of 34)
RECIPE = ("--architecture", "small_vgg", "--epochs", 3, "--seed", 5, "--batch-size", 16,
          "--checkpoint-minutes", 0)


def train(dataset, output, *more, **options):
    return run_script("train_siamese_network.py", "--dataset", dataset, "--output", output,
                      *RECIPE, *more, **options)


def assert_same_rows(rows, expected):
    # row by row: pytest.approx takes a dict of numbers, not a list of them
    assert len(rows) == len(expected)
    for (row, want) in zip(rows, expected):
        assert row == pytest.approx(want, rel=1e-5)


def log_rows(output):
    with open(os.path.join(output, "small_vgg_training_log.csv"), newline="") as f:
        return [{key: float(value) for (key, value) in row.items()
                 if key not in ("seconds", "cores", "run_left_min")}
                for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def uninterrupted(tiny_npz, tmp_path_factory):
    output = tmp_path_factory.mktemp("uninterrupted")
    result = train(tiny_npz, output)
    assert result.returncode == 0, result.stdout + result.stderr
    return output, result


def kill_when(dataset, output, saved):
    """Start a training in a process of its own and kill -9 it as soon as the state it has
    saved (run.json) satisfies saved(state); returns that state."""
    command = [sys.executable, os.path.join(ROOT, "train_siamese_network.py"), "--dataset",
               str(dataset), "--output", str(output), *map(str, RECIPE)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONPATH": ROOT})
    stateFile = os.path.join(state_folder(os.path.join(output, "small_vgg_siamese_model")),
                             "run.json")
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with open(stateFile) as f:
                    if saved(json.load(f)):
                        break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        assert process.poll() is None, "the training ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    with open(stateFile) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def killed(tiny_npz, tmp_path_factory):
    """An output folder whose training was killed with SIGKILL after its first epoch; each
    test takes a copy."""
    output = tmp_path_factory.mktemp("killed") / "out"
    kill_when(tiny_npz, output, lambda state: state["epochs_done"] >= 1)
    return output


def copy_of(folder, tmp_path):
    import shutil

    return shutil.copytree(folder, tmp_path / "killed", symlinks=True)


def test_a_killed_run_resumes_as_if_it_had_never_stopped(tiny_npz, uninterrupted, killed,
                                                         tmp_path):
    (full, fullResult) = uninterrupted
    output = copy_of(killed, tmp_path)
    assert not (output / "small_vgg_siamese_model").exists()
    # as a kill in the middle of the next save would leave it: that epoch's log line and
    # weights written, its run.json not yet
    folder = state_folder(str(output / "small_vgg_siamese_model"))
    with open(os.path.join(folder, "training_log.csv"), "a") as f:
        f.write("1,0.1,0.1,0.1,0.1,0.1,0.1,0.1\n")
    with open(os.path.join(folder, "weights-2-0.weights.h5"), "wb") as f:
        f.write(b"half-written")
    # the same command again is refused, in one line that says how to go on
    assert_clean_error(train(tiny_npz, output), "unfinished run", "--resume")
    result = train(tiny_npz, output, "--resume")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "resuming the unfinished run" in result.stdout
    # the same epochs, figures and kept epoch as the run that never stopped
    assert_same_rows(log_rows(output), log_rows(full))
    kept = [line for line in result.stdout.splitlines() if "keeping epoch" in line]
    assert kept == [line for line in fullResult.stdout.splitlines() if "keeping epoch" in line]
    metadata = json.loads((output / "small_vgg_siamese_model" / "metadata.json").read_text())
    assert metadata["epochs"] == 3 and metadata["seed"] == 5
    assert not os.path.exists(state_folder(str(output / "small_vgg_siamese_model")))


def test_a_run_killed_within_an_epoch_resumes_from_its_last_steps(tiny_npz, uninterrupted,
                                                                   tmp_path):
    (full, fullResult) = uninterrupted
    output = tmp_path / "out"
    state = kill_when(tiny_npz, output,
                      lambda state: state["epochs_done"] == 1 and state["steps_done"] > 0)
    assert state["epochs_done"] == 1 and state["steps_done"] >= 16
    result = train(tiny_npz, output, "--resume")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (f"1 of 3 epochs done and {state['steps_done']} steps of the next"
            in result.stdout)
    # the epoch's figures (its loss over all of its steps) as if it had never stopped
    assert_same_rows(log_rows(output), log_rows(full))


def test_resume_refuses_another_recipe_or_nothing_to_resume(tiny_npz, killed, tmp_path):
    output = copy_of(killed, tmp_path)
    result = run_script("train_siamese_network.py", "--dataset", tiny_npz, "--output", output,
                        "--architecture", "small_vgg", "--epochs", 4, "--seed", 5, "--resume")
    assert_clean_error(result, "--epochs 3", "same command")
    assert_clean_error(train(tiny_npz, tmp_path / "fresh", "--resume"), "no unfinished run")


def test_a_run_started_before_a_flag_existed_resumes_with_the_value_it_had(tiny_npz, tmp_path):
    import train_siamese_network
    from pyimagesearch.training.checkpoints import check_resume, recipe_of

    args = train_siamese_network.parse_args(["--dataset", str(tiny_npz), "--loss", "nca",
                                             "--resume"])
    recipe = recipe_of(args)
    # as run.json had it before --rotated-classes and --embedding-dim
    del recipe["rotated_classes"], recipe["embedding_dim"]
    (tmp_path / "run.json").write_text(json.dumps({"recipe": recipe, "epochs_done": 1}))
    assert check_resume(str(tmp_path), args)["epochs_done"] == 1
    args.rotated_classes = True
    with pytest.raises(ValueError, match="--rotated-classes False"):
        check_resume(str(tmp_path), args)
    args.rotated_classes = False
    args.embedding_dim = 128
    with pytest.raises(ValueError, match="--embedding-dim 48"):
        check_resume(str(tmp_path), args)


def test_a_second_training_into_a_folder_in_use_is_refused(tiny_npz, tmp_path):
    with TrainingLock(str(tmp_path)):
        result = train(tiny_npz, tmp_path)
    assert_clean_error(result, "in use by another training")
    assert not (tmp_path / "small_vgg_siamese_model").exists()


def test_own_images_train_beside_the_shipped_models(tmp_path):
    # from a folder of its own: what output/ holds there stands for the shipped models
    write_digit_classes(tmp_path / "my_digits", 6)
    shipped = tmp_path / "output" / "small_vgg_siamese_model"
    shipped.mkdir(parents=True)
    (shipped / "metadata.json").write_text('{"dataset": "../shared/data/mnist.npz"}')
    (shipped / "saved_model.pb").write_bytes(b"")
    result = run_script("train_siamese_network.py", "--dataset", "my_digits",
                        "--architecture", "small_vgg", "--epochs", 1, "--seed", 1,
                        cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "output" / "my_digits" / "small_vgg_siamese_model" /
            "saved_model.pb").exists()
    assert sorted(os.listdir(shipped)) == ["metadata.json", "saved_model.pb"]
    # into the shipped model's folder, only when asked
    result = run_script("train_siamese_network.py", "--dataset", "my_digits",
                        "--architecture", "small_vgg", "--epochs", 1, "--seed", 1,
                        "--output", "output", cwd=tmp_path)
    assert_clean_error(result, "trained on ../shared/data/mnist.npz", "--overwrite")
    assert sorted(os.listdir(shipped)) == ["metadata.json", "saved_model.pb"]


def test_a_folder_of_the_users_at_the_model_path_is_refused_before_training(tiny_npz,
                                                                              tmp_path):
    (tmp_path / "small_vgg_siamese_model").mkdir()
    (tmp_path / "small_vgg_siamese_model" / "holiday.jpg").write_bytes(b"x")
    result = train(tiny_npz, tmp_path)
    assert_clean_error(result, "is not a saved siamese model")
    assert "training model" not in result.stdout
    assert os.listdir(tmp_path / "small_vgg_siamese_model") == ["holiday.jpg"]


def test_workers_a_save_apart_go_back_to_the_save_they_all_hold():
    from pyimagesearch.training.checkpoints import go_back_to, position
    previous = {"epochs_done": 2, "steps_done": 0, "best": 0.5, "best_epoch": 1,
                "files": {"weights": "weights-2-0.weights.h5"}}
    state = {"epochs_done": 3, "steps_done": 0, "best": 0.4, "best_epoch": 2,
             "files": {"weights": "weights-3-0.weights.h5"}, "previous": previous,
             "seed": 5}
    assert go_back_to(state, (3, 0)) is state
    back = go_back_to(state, (2, 0))
    assert position(back) == (2, 0) and back["files"] == previous["files"]
    assert back["best_epoch"] == 1 and back["seed"] == 5
    with pytest.raises(ValueError, match="holds no save at epoch 1"):
        go_back_to(state, (1, 0))
