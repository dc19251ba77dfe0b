"""The README is the front door and every link in it and in docs/ leads somewhere."""
import csv
import glob
import json
import os
import re
import urllib.parse

import pytest
from conftest import ROOT

PAGES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))


def anchors(path):
    """GitHub's anchors of a Markdown file's headings."""
    with open(path) as f:
        headings = [line.lstrip("#").strip() for line in f if line.startswith("#")]
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=os.path.basename)
def test_every_link_resolves(page):
    with open(page) as f:
        text = f.read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        (path, _, anchor) = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        assert os.path.exists(resolved), f"{os.path.basename(page)}: {target} does not exist"
        if anchor and not anchor.startswith("/"):  # "/...": a JSON pointer into a record
            assert anchor in anchors(resolved), f"{os.path.basename(page)}: no #{anchor}"


def test_the_readme_is_short_and_links_every_page():
    with open(PAGES[0]) as f:
        readme = f.read()
    assert len(readme.splitlines()) <= 300
    for page in PAGES[1:]:
        assert f"docs/{os.path.basename(page)}" in readme, page


def test_no_tool_or_benchmark_edits_sys_path():
    for path in glob.glob(os.path.join(ROOT, "tools", "*.py")) + glob.glob(
            os.path.join(ROOT, "benchmarks", "*.py")):
        with open(path) as f:
            assert "sys.path" not in f.read(), path


@pytest.mark.parametrize("name", ["siamese_model", "contrastive_siamese_model",
                                  "small_vgg_siamese_model", "small_vgg_triplet_siamese_model"])
def test_the_readmes_results_are_the_shipped_models_own(name):
    """Each shipped model's row of "Results at a glance": its threshold, and the accuracy and
    ROC AUC that tools.evaluate --record wrote into its metadata.json."""
    import json

    with open(os.path.join(ROOT, "README.md")) as f:
        row = next(line for line in f if line.startswith(f"| `output/{name}`")
                   or line.startswith(f"| **`output/{name}`**"))
    cells = [re.sub(r"[*]|\(distance\)", "", cell).strip() for cell in row.split("|")[3:7]]
    with open(os.path.join(ROOT, "output", name, "metadata.json")) as f:
        metadata = json.load(f)
    expected = [metadata["threshold"], metadata["mnist_test_pairs"]["accuracy"],
                metadata["mnist_test_pairs"]["roc_auc"],
                metadata["rendered_digits"]["accuracy"]]
    assert cells == [f"{value:.4f}" if value != 0.5 else "0.5" for value in expected], row


MEASUREMENTS = os.path.join(ROOT, "docs", "measurements")
# a figure quoted beside a link to the record of the run that measured it (under
# docs/measurements/, or a shipped model's metadata.json, where tools.evaluate --record and
# the training put theirs), the figure named by a JSON pointer (#/results/float32/cores) or,
# without one, a one-shot score
RECORD_LINK = re.compile(
    r"\[([^\]]+)\]\(((?:\.\./)?(?:(?:docs/)?measurements/[^)#]+\.json|output/[^)#]+/"
    r"metadata\.json|output/[^)#/]*training_log\.csv))(?:#(/[^)]*))?\)")
# the figure in a link's text: 7,158 or 0.7525 or +0.020 (of "3.16x", "1,012 MB", ...)
FIGURE = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?")


def record_links():
    links = []
    for page in PAGES:
        with open(page) as f:
            links += [(page, text, os.path.normpath(os.path.join(os.path.dirname(page), target)),
                       pointer) for (text, target, pointer) in RECORD_LINK.findall(f.read())]
    return links


def pointed_at(record, pointer):
    """The value a JSON pointer (RFC 6901: /results/float32/cores, percent-encoded as a link's
    fragment is: /results/~1search,%201%20clients) names in a record."""
    for key in urllib.parse.unquote(pointer).lstrip("/").split("/"):
        key = key.replace("~1", "/").replace("~0", "~")
        record = record[int(key)] if isinstance(record, list) else record[key]
    return record


def quoted(record, pointer, text):
    """How the docs quote a record: the value at pointer, to as many digits as text shows
    (with its thousands commas and sign), or else a one-shot score with its 95% interval."""
    if not pointer:
        runs = record["oneshot_runs"]
        return f"{runs['accuracy']:.3f} ({runs['low']:.3f}-{runs['high']:.3f})"
    figure = FIGURE.search(text).group()
    decimals = len(figure.partition(".")[2])
    shape = ("+" if figure[0] in "+-" else "") + ("," if "," in figure else "")
    value = float(pointed_at(record, pointer))
    return text.replace(figure, f"{value:{shape}.{decimals}f}", 1)


def test_figures_from_measurements_are_those_their_records_hold():
    # measured on data or machines the tests cannot have (Omniglot, full MNIST, a quiet CPU):
    # each figure links the JSON that the measuring run wrote (tools.evaluate --json, a
    # benchmark's --json), and is that record's, to the digit
    links = record_links()
    assert len(links) >= 10
    for (page, text, path, pointer) in links:
        with open(path) as f:
            # a training log is its rows: /0/val_accuracy is the first epoch's
            record = list(csv.DictReader(f)) if path.endswith(".csv") else json.load(f)
        expected = quoted(record, pointer, text)
        assert text == expected, f"{os.path.basename(page)}: {text} vs {path}#{pointer}"
    # and no record lies about unquoted
    recorded = {os.path.normpath(path) for path in
                glob.glob(os.path.join(MEASUREMENTS, "**", "*.json"), recursive=True)}
    assert recorded == {path for (_, _, path, _) in links if path.startswith(MEASUREMENTS)}
    assert any("metadata.json" in path for (_, _, path, _) in links)


def test_a_quoted_figure_is_checked_to_its_last_digit():
    record = {"results": {"float32": {"pairs_per_second": 7158.4, "to_baseline": {
        "throughput": 3.1649, "val_accuracy": -0.01994}}}}
    pointer = "/results/float32/pairs_per_second"
    assert quoted(record, pointer, "7,158") == "7,158"
    assert quoted(record, pointer, "7158 pairs/s") == "7158 pairs/s"
    assert quoted(record, pointer, "7,158.0") == "7,158.4"
    assert quoted(record, "/results/float32/to_baseline/throughput", "3.16x") == "3.16x"
    served = {"results": {"/search, 8 clients": {"requests_per_second": 246.04}}}
    assert quoted(served, "/results/~1search,%208%20clients/requests_per_second", "246.0") \
        == "246.0"
    assert quoted(record, "/results/float32/to_baseline/val_accuracy", "+0.020") == "-0.020"
