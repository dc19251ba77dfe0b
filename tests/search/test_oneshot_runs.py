import json
import os

import numpy as np
import pytest
from conftest import assert_clean_error, run_script, write_alphabets, zip_folder

from pyimagesearch.data.datasets import DatasetError
from pyimagesearch.search.oneshot_runs import (
    drawer_of,
    mean_with_interval,
    read_runs,
    score_runs,
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Five 3-way runs written from a zip of two alphabets (4 and 3 characters, 4 drawers)."""
    root = tmp_path_factory.mktemp("runs")
    tree = write_alphabets(root / "tree", (("Alpha", 4), ("Beta", 3)), drawers=4,
                           wrapper="set")
    archive = zip_folder(tree, root / "set.zip")
    output = root / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        result = run_script("tools.make_oneshot_runs", "--dataset", archive, "--output",
                            output, "--ways", 3, "--runs", 5, "--seed", 4)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wrote 5 3-way one-shot run(s)" in result.stdout
    return output


def test_runs_are_written_in_lakes_layout(runs):
    assert sorted(os.listdir(runs)) == [f"run{i:02d}" for i in range(1, 6)]
    for run in sorted(os.listdir(runs)):
        assert sorted(os.listdir(runs / run / "training")) == [
            "class01.png", "class02.png", "class03.png"]
        assert sorted(os.listdir(runs / run / "test")) == ["item01.png", "item02.png",
                                                          "item03.png"]
        lines = (runs / run / "class_labels.txt").read_text().split("\n")
        assert lines[-1] == "" and len(lines) == 4
        named = sorted(line.split()[1] for line in lines[:-1])
        assert named == [f"{run}/training/class{i:02d}.png" for i in (1, 2, 3)]
        assert all(line.startswith(f"{run}/test/item") for line in lines[:-1])


def test_each_run_takes_one_alphabet_and_two_drawers(runs, tmp_path):
    # the copied files are byte for byte the tree's: find each one's source by its content
    tree = {path.read_bytes(): path for path in
            (runs.parent / "tree").rglob("*.png")}
    alphabetsSeen = set()
    for run in read_runs(str(runs)):
        sources = {kind: [tree[open(path, "rb").read()] for path in getattr(run, kind)]
                   for kind in ("training", "test")}
        alphabets = {path.parent.parent.name for path in sources["training"] + sources["test"]}
        assert len(alphabets) == 1
        alphabetsSeen |= alphabets
        (trainDrawers, testDrawers) = ({drawer_of(str(path)) for path in sources[kind]}
                                       for kind in ("training", "test"))
        assert len(trainDrawers) == len(testDrawers) == 1 and trainDrawers != testDrawers
        for (item, answer) in enumerate(run.answers):
            # a test drawing's answer is a drawing of its own character
            assert sources["test"][item].parent == sources["training"][answer].parent
    assert alphabetsSeen == {"Alpha", "Beta"}


def test_scoring_picks_the_nearest_training_drawing(runs):
    loaded = read_runs(str(runs))

    def perfect(paths):
        # each image embedded as its character (its answer), the test items by their labels
        return np.array([_character(path, loaded) for path in paths], np.float32)

    scored = score_runs(loaded, perfect)
    assert [accuracy for (_, _, accuracy) in scored] == [1.0] * 5

    def one_swapped(paths):
        embeddings = perfect(paths)
        # the first run's first test item looks like another character's drawing
        first = loaded[0]
        if paths == first.training + first.test:
            wrong = (first.answers[0] + 1) % 3
            embeddings[3] = embeddings[wrong]
        return embeddings

    accuracies = [accuracy for (_, _, accuracy) in score_runs(loaded, one_swapped)]
    assert accuracies == pytest.approx([2 / 3, 1, 1, 1, 1])
    (mean, low, high) = mean_with_interval(accuracies)
    assert mean == pytest.approx(14 / 15) and low < mean < high <= 1


def _character(path, runs):
    """A one-hot code of the character a run's file shows (training: its index; test: its
    answer)."""
    for run in runs:
        if path in run.training:
            index = run.training.index(path)
        elif path in run.test:
            index = int(run.answers[run.test.index(path)])
        else:
            continue
        return np.eye(3)[index]
    raise AssertionError(path)


def test_evaluate_scores_runs_with_a_model(runs, trained_output, tmp_path):
    (output, _) = trained_output
    (figure, record) = (tmp_path / "runs.png", tmp_path / "record.json")
    result = run_script("tools.evaluate", "--model", output / "siamese_model", "--runs", runs,
                        "--episode-figure", figure, "--json", record)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3-way one-shot runs of" in result.stdout and "run05" in result.stdout
    line = [line for line in result.stdout.splitlines() if "mean accuracy over 5" in line][0]
    assert "chance 0.3333" in line and figure.stat().st_size > 0
    # the record a document quotes: the printed figures, and what the model is
    written = json.loads(record.read_text())
    assert f"{written['oneshot_runs']['accuracy']:.4f} (95% " \
           f"{written['oneshot_runs']['low']:.4f}-" in line
    assert sorted(written["oneshot_runs"]["per_run"]) == [f"run0{i}" for i in range(1, 6)]
    assert written["model"]["architecture"] == "tutorial" and written["model"]["seed"] == 3


@pytest.mark.parametrize("damage, message", [
    (lambda run: os.remove(run / "class_labels.txt"), "holds no one-shot runs"),
    (lambda run: (run / "class_labels.txt").write_text(
        "run01/test/item01.png run01/training/class09.png\n"), "does not exist"),
    (lambda run: (run / "class_labels.txt").write_text("just-one-field\n"), "expected"),
])
def test_bad_runs_are_refused_in_one_line(runs, trained_output, tmp_path, damage, message):
    import shutil

    copy = tmp_path / "runs"
    shutil.copytree(runs / "run01", copy / "run01")
    damage(copy / "run01")
    with pytest.raises(DatasetError, match=message):
        read_runs(str(copy))
    (output, _) = trained_output
    result = run_script("tools.evaluate", "--model", output / "siamese_model", "--runs", copy)
    assert_clean_error(result, message)


def test_a_zip_without_class_folders_ends_training_in_one_line(tmp_path, monkeypatch):
    import zipfile

    path = tmp_path / "flat.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.png", b"x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = run_script("train_siamese_network.py", "--dataset", path, "--output",
                        tmp_path / "out")
    assert_clean_error(result, "holds no class folders")
