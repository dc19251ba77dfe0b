"""Training across two worker processes on 127.0.0.1 (free ports), bounded in time."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, assert_clean_error

from pyimagesearch.training.distributed import cluster_config, is_chief, unreachable_peers


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports, index):
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def start_worker(ports, index, output, dataset, *extra):
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1",
           "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": tf_config(ports, index)}
    command = [sys.executable, os.path.join(ROOT, "train_siamese_network.py"), "--strategy",
               "multiworker", "--dataset", str(dataset), "--output", str(output), "--seed", "7",
               "--precision", "float32", *map(str, extra)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


@pytest.fixture(scope="module")
def two_workers(tiny_npz, tmp_path_factory):
    root = tmp_path_factory.mktemp("multiworker")
    ports = free_ports(2)
    workers = [start_worker(ports, i, root / f"out{i}", tiny_npz, "--epochs", 2,
                            "--worker-timeout", 60) for i in range(2)]
    results = [worker.communicate(timeout=300) for worker in workers]
    return root, [(worker.returncode, out, err) for (worker, (out, err)) in zip(workers, results)]


def test_two_workers_train_one_model_and_only_the_chief_writes(two_workers):
    from pyimagesearch.models.model_io import SiameseModel
    (root, results) = two_workers
    for (code, out, err) in results:
        assert code == 0, out + err
        assert "[INFO] multiworker strategy over 2 replica(s)" in out
    assert sorted(p.name for p in (root / "out0").iterdir()) == [
        "embeddings.png", "plot.png", "roc.png", "siamese_model", "training_log.csv"]
    assert not (root / "out1").exists()
    model = SiameseModel(str(root / "out0" / "siamese_model"))
    assert model.metadata["strategy"] == "multiworker"
    scores = model.predict(np.zeros((2, 28, 28, 1)), np.ones((2, 28, 28, 1)))
    assert ((scores >= 0) & (scores <= 1)).all()


def test_both_workers_end_with_the_same_weights(two_workers):
    checksums = [line for (_, out, _) in two_workers[1] for line in out.splitlines()
                 if line.startswith("[INFO] weights checksum: ")]
    assert len(checksums) == 2 and checksums[0] == checksums[1]


def test_a_killed_worker_restarted_with_resume_goes_on_with_the_others(two_workers, tiny_npz,
                                                                      tmp_path):
    from pyimagesearch.training.checkpoints import state_folder
    ports = free_ports(2)
    outputs = [tmp_path / f"out{i}" for i in range(2)]
    workers = [start_worker(ports, i, outputs[i], tiny_npz, "--epochs", 2, "--worker-timeout",
                            60) for i in range(2)]
    # each worker keeps the run's state in its own --output
    stateFiles = [state_folder(str(outputs[0] / "siamese_model")),
                  state_folder(str(outputs[1] / "siamese_model"), "worker1")]
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and workers[1].poll() is None:
            try:
                states = [json.loads((Path(folder) / "run.json").read_text())
                          for folder in stateFiles]
                if all(state["epochs_done"] >= 1 for state in states):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        assert workers[1].poll() is None, "the run ended before a worker could be killed"
        workers[1].kill()
        (out, err) = workers[0].communicate(timeout=90)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert workers[0].returncode != 0
    assert "another worker left the run" in err and "--resume" in err
    assert not (outputs[0] / "siamese_model").exists()
    # both started again with --resume: epoch 2 alone, ending where the run that never
    # stopped ended
    resumed = [start_worker(ports, i, outputs[i], tiny_npz, "--epochs", 2, "--worker-timeout",
                            60, "--resume") for i in range(2)]
    results = [worker.communicate(timeout=300) for worker in resumed]
    for (worker, (out, err)) in zip(resumed, results):
        assert worker.returncode == 0, out + err
        assert "resuming the unfinished run" in out and "Epoch 1/" not in out
    checksums = [line for (_, out, _) in two_workers[1] + [(0, out, err) for (out, err) in results]
                 for line in out.splitlines() if line.startswith("[INFO] weights checksum: ")]
    assert len(checksums) == 4 and len(set(checksums)) == 1
    assert not os.path.exists(stateFiles[0]) and not os.path.exists(stateFiles[1])


def test_a_worker_whose_peers_never_come_gives_up(tiny_npz, tmp_path):
    # the chief and a worker, each of a cluster of its own whose other member never comes
    # (both at once: most of their time is TensorFlow starting)
    clusters = [free_ports(2) for _ in (0, 1)]
    started = time.monotonic()
    workers = [start_worker(clusters[index], index, tmp_path / f"out{index}", tiny_npz,
                            "--epochs", 1, "--worker-timeout", 1) for index in (0, 1)]
    for (index, worker) in enumerate(workers):
        (out, err) = worker.communicate(timeout=120)
        result = subprocess.CompletedProcess(worker.args, worker.returncode, out, err)
        assert_clean_error(result, "no answer from", f"127.0.0.1:{clusters[index][1 - index]}",
                           "after 1 s")
        assert not (tmp_path / f"out{index}" / "siamese_model").exists()
    assert time.monotonic() - started < 60


def test_sigterm_on_one_worker_ends_the_run_on_both(tiny_npz, tmp_path):
    output = tmp_path / "out"
    (output / "siamese_model").mkdir(parents=True)
    (output / "siamese_model" / "previous").write_text("the previous model")
    (output / "siamese_model" / "saved_model.pb").write_bytes(b"")
    ports = free_ports(2)
    workers = [start_worker(ports, i, output, tiny_npz, "--epochs", 500, "--worker-timeout",
                            60) for i in range(2)]
    try:
        for line in workers[1].stdout:
            if line.startswith("Epoch 2/"):
                break
        started = time.monotonic()
        workers[1].send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=90) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert time.monotonic() - started < 60
    assert all(worker.returncode != 0 for worker in workers)
    assert "[ERROR] another worker left the run" in outputs[0][1]
    assert "[ERROR] interrupted; the model was not saved" in outputs[1][1]
    assert (output / "siamese_model" / "previous").read_text() == "the previous model"
    assert sorted(p.name for p in (output / "siamese_model").iterdir()) == [
        "previous", "saved_model.pb"]


def test_multiworker_needs_a_seed(tiny_npz, monkeypatch):
    from conftest import run_script
    result = run_script("train_siamese_network.py", "--strategy", "multiworker", "--dataset",
                        tiny_npz, env={"TF_CONFIG": tf_config(free_ports(2), 0)})
    assert_clean_error(result, "--strategy multiworker needs --seed")


def test_cluster_roles(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert cluster_config() == ({}, "worker", 0) and is_chief()
    monkeypatch.setenv("TF_CONFIG", tf_config([1, 2], 1))
    assert not is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker",
                                                                    "index": 0}}))
    assert not is_chief()
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        cluster_config()


def test_unreachable_peers_names_the_closed_addresses(monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    (openPort, closedPort) = (listener.getsockname()[1], free_ports(1)[0])
    try:
        monkeypatch.setenv("TF_CONFIG", json.dumps({
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in (9, openPort, closedPort)]},
            "task": {"type": "worker", "index": 0}}))
        assert unreachable_peers() == [f"127.0.0.1:{closedPort}"]
    finally:
        listener.close()
