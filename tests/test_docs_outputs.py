"""Docs that cannot go stale: every command block of the README and docs/ that is followed by
"prints" and an output block is run (in a folder of its own, with the repository's examples
and shipped models), and what it prints must match the block, numbers included; a line "..."
in the block stands for lines left out."""
import glob
import os
import re
import shlex

import pytest
from conftest import ROOT, run_script

PAGES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
SHOWN = re.compile(r"```bash\n((?:(?!```).)*?)```\n\n(prints[^\n]*)\n\n```\n(.*?)```", re.DOTALL)


def quoted_runs():
    found = []
    for page in PAGES:
        with open(page) as f:
            text = f.read()
        for (i, match) in enumerate(SHOWN.finditer(text)):
            found.append(pytest.param(match.group(1), match.group(3),
                                      id=f"{os.path.basename(page)}-{i + 1}"))
    return found


def commands(block):
    """The block's commands, continuation lines joined and comments dropped, as argv lists."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [shlex.split(line, comments=True) for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def matches(expected, printed):
    """Whether printed holds the expected lines in order, "..." skipping any number (and so
    do the lines printed before the first quoted one, an earlier command's, and after the
    last)."""
    position = 0
    skipping = True
    for line in expected:
        if line == "...":
            skipping = True
            continue
        while position < len(printed) and printed[position] != line:
            if not skipping:
                return False
            position += 1
        if position == len(printed):
            return False
        (position, skipping) = (position + 1, False)
    return True


def test_the_docs_quote_some_runs():
    assert len(quoted_runs()) >= 2


@pytest.mark.parametrize("block, shown", quoted_runs())
def test_a_quoted_run_prints_what_the_docs_show(block, shown, tmp_path):
    # the repository's examples and shipped models, nothing else
    os.symlink(os.path.join(ROOT, "examples"), tmp_path / "examples")
    (tmp_path / "output").mkdir()
    for model in glob.glob(os.path.join(ROOT, "output", "*_model")):
        os.symlink(model, tmp_path / "output" / os.path.basename(model))
    printed = []
    for argv in commands(block):
        assert argv[0] == "python", argv
        (script, args) = ((argv[2], argv[3:]) if argv[1] == "-m" else (argv[1], argv[2:]))
        result = run_script(script, *args, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        printed += result.stdout.splitlines()
    expected = shown.rstrip("\n").splitlines()
    relevant = [line for line in printed if line.startswith(("[INFO]", "[RESULT]"))]
    assert matches(expected, relevant), "\n".join(relevant)
