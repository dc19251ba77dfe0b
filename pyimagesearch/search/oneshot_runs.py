"""One-shot runs in the layout of Lake et al.'s Omniglot benchmark, written and scored.

A folder of runs run01, run02, ... each holds training/class01.png ... (one drawing of each of
N characters), test/item01.png ... (another drawing of each, by another drawer, shuffled) and
class_labels.txt, one line per test item naming its training drawing, both relative to the
folder that holds the runs:

    run01/test/item01.png run01/training/class08.png

A run's score is the share of its test items whose nearest training drawing is their own
character's; the benchmark is the mean over the runs.
"""
import os
import re
import shutil
from collections import namedtuple

import numpy as np

from pyimagesearch.data.datasets import DatasetError

LABELS_FILE = "class_labels.txt"
# Omniglot's file names end in the drawer's number: 0108_01.png is drawer 01's drawing
DRAWER = re.compile(r"_(\d+)$")

Run = namedtuple("Run", "name training test answers")
Run.__doc__ = """One run: training and test image paths, and answers[i] the index into
training of test[i]'s character."""


def alphabet_of(className):
    """The group a class belongs to: Greek of Greek/character01 (None without one)."""
    return className.split("/")[0] if "/" in className else None


def drawer_of(path):
    """The drawer a file name says drew it (0108_07.png: "07"), or None."""
    match = DRAWER.search(os.path.splitext(os.path.basename(path))[0])
    return match.group(1) if match else None


def draw_runs(paths, labels, classNames, ways, runs, seed=0):
    """Seeded runs of `ways` classes, each [(class name, support path, query path)]: one
    alphabet per run where the class names have one (the alphabets with at least `ways`
    characters taken in turn, in a seeded order), support and query drawings by two
    different drawers where every file name says its drawer (one pair of drawers per run,
    as in Lake's runs), else two different images of each class. Raises ValueError when
    no group has `ways` classes of two images."""
    rng = np.random.default_rng(seed)
    members = {}
    for (path, label) in zip(paths, labels):
        members.setdefault(classNames[label], []).append(path)
    usable = {name: sorted(found) for (name, found) in members.items() if len(found) >= 2}
    groups = {}
    for name in sorted(usable):
        groups.setdefault(alphabet_of(name), []).append(name)
    eligible = [group for (group, names) in groups.items() if len(names) >= ways]
    if not eligible:
        raise ValueError(f"{ways}-way runs need {ways} classes of at least two images in one "
                         f"alphabet; the largest has "
                         f"{max((len(names) for names in groups.values()), default=0)}")
    order = [eligible[i] for i in rng.permutation(len(eligible))]
    byDrawer = all(drawer_of(path) is not None for found in usable.values() for path in found)
    drawn = []
    for i in range(runs):
        chosen = rng.choice(groups[order[i % len(order)]], ways, replace=False)
        drawn.append(_pick_drawings(chosen, usable, byDrawer, rng))
    return drawn


def _pick_drawings(chosen, usable, byDrawer, rng):
    if byDrawer:
        drawers = [{drawer_of(path): path for path in usable[name]} for name in chosen]
        common = sorted(set.intersection(*(set(found) for found in drawers)))
        if len(common) >= 2:
            (first, second) = rng.choice(common, 2, replace=False)
            return [(name, found[first], found[second])
                    for (name, found) in zip(chosen, drawers)]
    picks = [rng.choice(usable[name], 2, replace=False) for name in chosen]
    return [(name, support, query) for (name, (support, query)) in zip(chosen, picks)]


def write_runs(drawn, output, seed=0):
    """Write drawn runs (draw_runs) into output in Lake's layout; output must not exist or
    be empty. Images are copied as they are (PNG), other formats written as PNG."""
    import cv2

    if os.path.isdir(output) and os.listdir(output):
        raise ValueError(f"{output} is not empty: write the runs into a new folder")
    rng = np.random.default_rng(seed)
    partial = f"{output.rstrip(os.sep)}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    width = max(2, len(str(len(drawn))))
    for (i, run) in enumerate(drawn, start=1):
        name = f"run{i:0{width}d}"
        digits = max(2, len(str(len(run))))
        for folder in ("training", "test"):
            os.makedirs(os.path.join(partial, name, folder))
        order = rng.permutation(len(run))
        lines = []
        for (item, classIndex) in enumerate(order, start=1):
            (_, support, query) = run[classIndex]
            training = f"{name}/training/class{classIndex + 1:0{digits}d}.png"
            test = f"{name}/test/item{item:0{digits}d}.png"
            for (source, target) in ((support, training), (query, test)):
                target = os.path.join(partial, target)
                if source.lower().endswith(".png"):
                    shutil.copyfile(source, target)
                else:
                    cv2.imwrite(target, cv2.imread(source, cv2.IMREAD_UNCHANGED))
            lines.append(f"{test} {training}")
        with open(os.path.join(partial, name, LABELS_FILE), "w") as f:
            f.write("\n".join(lines) + "\n")
    if os.path.isdir(output):
        os.rmdir(output)
    os.rename(partial, output)


def read_runs(folder):
    """The runs under folder (its subfolders holding class_labels.txt, sorted; or folder
    itself when it is one run), as Run tuples. Raises DatasetError for a folder without runs,
    a malformed label line or a label naming a missing file."""
    if not os.path.isdir(folder):
        raise DatasetError(f"--runs {folder} is not a folder")
    if os.path.isfile(os.path.join(folder, LABELS_FILE)):
        (root, names) = (os.path.dirname(os.path.abspath(folder)),
                         [os.path.basename(os.path.abspath(folder))])
    else:
        root = folder
        names = sorted(entry.name for entry in os.scandir(folder)
                       if os.path.isfile(os.path.join(entry.path, LABELS_FILE)))
    if not names:
        raise DatasetError(f"{folder} holds no one-shot runs: no {LABELS_FILE} in it or in "
                           f"its subfolders (python -m tools.make_oneshot_runs writes some)")
    return [_read_run(root, name) for name in names]


def _read_run(root, name):
    path = os.path.join(root, name, LABELS_FILE)
    (training, test, answers) = ([], [], [])
    with open(path) as f:
        for (number, line) in enumerate(f, start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2:
                raise DatasetError(f"{path}, line {number}: expected 'TEST_IMAGE "
                                   f"TRAINING_IMAGE', got {line.strip()!r}")
            for relative in fields:
                if not os.path.isfile(os.path.join(root, relative)):
                    raise DatasetError(f"{path}, line {number}: {relative} does not exist "
                                       f"under {root}")
            (item, answer) = (os.path.join(root, fields[0]), os.path.join(root, fields[1]))
            if answer not in training:
                training.append(answer)
            test.append(item)
            answers.append(training.index(answer))
    if not test:
        raise DatasetError(f"{path} names no test item")
    # every training drawing is a candidate, those no test item names too
    folder = os.path.join(root, name, "training")
    if os.path.isdir(folder):
        from pyimagesearch.data.images import list_image_paths

        training += [path for path in list_image_paths(folder, "training folder")
                     if path not in training]
    return Run(name, training, test, np.array(answers))


def score_runs(runs, embed):
    """Each run's answers: embed(paths) gives the embeddings of image files; every test item
    takes the character of its nearest training drawing. Returns [(run, picks, accuracy)]."""
    from pyimagesearch.search.index import exact_search

    scored = []
    for run in runs:
        embeddings = embed(run.training + run.test)
        (training, test) = (embeddings[:len(run.training)], embeddings[len(run.training):])
        (_, nearest) = exact_search(training, test, 1)
        picks = nearest[:, 0]
        scored.append((run, picks, float(np.mean(picks == run.answers))))
    return scored


def mean_with_interval(accuracies):
    """(mean, low, high): the mean of the runs' accuracies with its 95% interval (Student's t
    over the runs; the mean alone for a single run)."""
    accuracies = np.asarray(accuracies, np.float64)
    mean = float(accuracies.mean())
    if len(accuracies) < 2:
        return mean, mean, mean
    from scipy import stats

    half = stats.t.ppf(0.975, len(accuracies) - 1) * accuracies.std(ddof=1) / np.sqrt(
        len(accuracies))
    return mean, max(0.0, mean - half), min(1.0, mean + half)
