"""The README is the front door and every link in it and in docs/ leads somewhere."""
import glob
import json
import os
import re

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
        if anchor:
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
# a figure quoted beside a link to the record of the run that measured it
RECORD_LINK = re.compile(r"\[([^\]]+)\]\(((?:\.\./)?(?:docs/)?measurements/[^)#]+\.json)\)")


def record_links():
    links = []
    for page in PAGES:
        with open(page) as f:
            links += [(page, text, os.path.normpath(os.path.join(os.path.dirname(page), target)))
                      for (text, target) in RECORD_LINK.findall(f.read())]
    return links


def quoted(record):
    """How the docs quote a record: a one-shot score with its 95% interval."""
    runs = record["oneshot_runs"]
    return f"{runs['accuracy']:.3f} ({runs['low']:.3f}-{runs['high']:.3f})"


def test_figures_from_measurements_are_those_their_records_hold():
    # measured on data the tests cannot have (Omniglot): each figure links the JSON that
    # tools.evaluate --json wrote, and is that record's, to the digit
    links = record_links()
    assert len(links) >= 10
    for (page, text, path) in links:
        with open(path) as f:
            assert text == quoted(json.load(f)), f"{os.path.basename(page)}: {text} vs {path}"
    # and no record lies about unquoted
    recorded = {os.path.normpath(path) for path in
                glob.glob(os.path.join(MEASUREMENTS, "**", "*.json"), recursive=True)}
    assert recorded == {path for (_, _, path) in links}
