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


# a measured figure in a table cell (0.9938, 7.4, 1,117): decimals, or thousands
MEASURED = re.compile(r"(?<![\w./#-])(?:\d+\.\d+|\d{1,3}(?:,\d{3})+)(?![\w/])")
# a Markdown link; its group is the link's text
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# the paragraph before a table of history says so and names the code it measured
HISTORY = re.compile(r"\bhistory\b.*\bcommits? [0-9a-f]{7,40}\b", re.IGNORECASE | re.DOTALL)


def paragraphs(text):
    """The paragraphs of a Markdown page outside fenced and indented code."""
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return [part for part in re.split(r"\n\s*\n", text) if not part.startswith("    ")]


def is_table(part):
    lines = part.strip().splitlines()
    return len(lines) > 1 and lines[0].startswith("|") and re.match(r"\|\s*-", lines[1])


def tables(text):
    """(paragraph before, body rows as lists of cells) of each Markdown table outside code."""
    parts = paragraphs(text)
    return [(" ".join(parts[number - 1].split()) if number else "",
             [[cell.strip() for cell in line.split("|")[1:-1]]
              for line in part.strip().splitlines()[2:]])
            for (number, part) in enumerate(parts) if is_table(part)]


def unrecorded_figures(rows):
    """The measured figures of rows that link no record (published anchors aside; long
    cells are prose, such as a flag's default)."""
    figures = []
    for cells in rows:
        if re.search(r"published|et al\.", cells[0]):
            continue
        for cell in cells[1:]:
            unlinked = LINK.sub("", cell)
            if len(unlinked) <= 80:
                figures += MEASURED.findall(unlinked)
    return figures


@pytest.mark.parametrize("page", PAGES, ids=os.path.basename)
def test_a_table_of_figures_links_its_records_or_is_history_of_a_commit(page):
    # a figure of today's code must be checked against the file its run wrote; one that no
    # record holds describes the code of its time, and says which
    with open(page) as f:
        text = f.read()
    # a table glued to the text above it (no blank line between) would escape the rule
    glued = [part for part in paragraphs(text)
             if re.search(r"^\|\s*-", part, re.M) and not is_table(part)]
    assert not glued, (f"{os.path.basename(page)}: a table without a blank line before it: "
                       f"{glued[0][:80]}")
    for (paragraph, rows) in tables(text):
        figures = unrecorded_figures(rows)
        assert not figures or HISTORY.search(paragraph), (
            f"{os.path.basename(page)}: {figures[:3]} link no record, and the paragraph "
            f"before their table does not call them history of a commit: {paragraph[:80]}")


# a score quoted in prose (0.871, 0.9312): a number from 0 to 1 to three or four decimals
SCORE = re.compile(r"(?<![\w./#-])[01]\.\d{3,4}(?![\w/])")


def shown(figure, figures):
    """Whether figure is one of figures, or one of them rounded to its decimals."""
    decimals = len(figure.partition(".")[2])
    return any(len(other.partition(".")[2]) >= decimals
               and f"{float(other):.{decimals}f}" == figure for other in figures)


def test_a_score_in_prose_is_one_a_table_or_record_link_shows_or_is_history():
    # prose repeats what a checked table or link shows, or says that it is history: so a
    # score cannot go stale unnoticed in a sentence either
    pages = {}
    for page in PAGES:
        with open(page) as f:
            pages[page] = paragraphs(f.read())
    figures = set()
    for parts in pages.values():
        for part in parts:
            quoted_in = [part] if is_table(part) else LINK.findall(part)
            figures.update(figure for text in quoted_in for figure in
                           re.findall(r"\d+\.\d+", text))
    for (page, parts) in pages.items():
        for part in parts:
            if is_table(part) or re.search(r"\bhistory\b|\bno record\b", part, re.IGNORECASE):
                continue
            alone = [figure for figure in SCORE.findall(LINK.sub("", part))
                     if not shown(figure, figures)]
            assert not alone, (f"{os.path.basename(page)}: {alone} in prose, in no table or "
                               f"record link, and not called history: {part[:80]}")


def test_a_score_in_prose_may_round_a_shown_one():
    assert shown("0.865", {"0.8651000261306763"}) and shown("0.8651", {"0.8651"})
    assert not shown("0.8652", {"0.8651"}) and not shown("0.8651", {"0.865"})
    assert paragraphs("a\n\n```\n0.1234\n```\n\n    0.5678\n\nb 0.9999") == ["a", "b 0.9999"]


def test_the_history_rule_tells_records_from_history():
    text = """Measured today:

| model | accuracy |
| --- | --- |
| ours | [0.9938](measurements/x.json#/accuracy) |
| tutorial, published | 0.8810 |

History, no record (in these docs since commit 1d7429a):

| model | accuracy |
| --- | --- |
| ours then | 0.9940 |

Measured today, unlinked:

| model | pairs/s |
| --- | --- |
| ours | 1,117 |
"""
    found = tables(text)
    assert [unrecorded_figures(rows) for (_, rows) in found] == [[], ["0.9940"], ["1,117"]]
    assert [bool(HISTORY.search(paragraph)) for (paragraph, _) in found] == [False, True, False]


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
