"""The house's floors (pyimagesearch/__init__.py): each module imports only from its own folder
and the floors below it, and no module grows past what one sitting reads."""
import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "pyimagesearch")
FLOORS = {"config": 0, "cli": 0, "plotting": 0, "faces": 1, "data": 2, "models": 3,
          "siamese_network": 4, "utils": 4, "search": 5, "training": 6, "serving": 6}
MOST_LINES = 450


def modules():
    for (folder, _, files) in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.relpath(os.path.join(folder, name), PACKAGE)


def room(relative):
    """The FLOORS key a module's path lies in: its folder, or its own name at the top."""
    parts = relative.replace(os.sep, "/").split("/")
    return parts[0] if len(parts) > 1 else parts[0][:-3]


def imported_rooms(path):
    for node in ast.walk(ast.parse(open(path).read())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "pyimagesearch":
                names = [alias.name for alias in node.names]
            elif node.module.startswith("pyimagesearch."):
                names = [node.module.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [alias.name.split(".")[1] for alias in node.names
                     if alias.name.startswith("pyimagesearch.")]
        yield from names


@pytest.mark.parametrize("relative", [m for m in modules() if not m.endswith("__init__.py")])
def test_imports_go_down_the_floors(relative):
    here = room(relative)
    assert here in FLOORS, f"{relative} lies in no floor of pyimagesearch/__init__.py"
    for there in imported_rooms(os.path.join(PACKAGE, relative)):
        assert there in FLOORS, f"{relative} imports {there}, which lies in no floor"
        if there == here:
            continue
        assert FLOORS[there] <= FLOORS[here] and not (
            FLOORS[there] == FLOORS[here] and FLOORS[here] not in (0, 4)), \
            f"{relative} (floor {FLOORS[here]}) imports {there} (floor {FLOORS[there]})"


@pytest.mark.parametrize("relative", list(modules()))
def test_no_module_is_past_one_sitting(relative):
    with open(os.path.join(PACKAGE, relative)) as f:
        assert sum(1 for _ in f) <= MOST_LINES


def test_every_folder_says_what_it_holds_and_may_import():
    for name in os.listdir(PACKAGE):
        init = os.path.join(PACKAGE, name, "__init__.py")
        if os.path.isdir(os.path.join(PACKAGE, name)) and not name.startswith("__"):
            docstring = ast.get_docstring(ast.parse(open(init).read()))
            assert docstring and "May import" in docstring, name
