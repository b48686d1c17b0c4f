"""The package's shape: imports point one way, private members stay behind one adapter, and
the code never points outside the repository."""

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SRC = REPO_ROOT / "src"
PACKAGES = ("dlbasics", "hydra_plugins")

# Rooms from the bottom up. A module may import from its own room and from rooms with a
# lower rank; never sideways into another room of the same rank, never upwards.
RANKS = {
    "dlbasics": 0,  # the package itself: its version string
    "dlbasics.errors": 0,
    "dlbasics.compat": 0,
    "dlbasics.utils": 1,
    "dlbasics.data": 2,
    "dlbasics.nets": 2,
    "dlbasics.metrics": 2,
    "dlbasics.scratch": 2,
    "dlbasics.tasks": 3,
    "dlbasics.callbacks": 3,
    "dlbasics.training": 4,
    "dlbasics.studies": 4,
    "dlbasics.sweeps": 5,
    "dlbasics.train": 6,
    "dlbasics.eval": 6,
    "dlbasics.predict": 6,
    "dlbasics.results": 6,
    "hydra_plugins": 6,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((SRC / package).rglob("*.py"))
    }


def room(module: str) -> str | None:
    rooms = [r for r in RANKS if module == r or (r != "dlbasics" and module.startswith(r + "."))]
    return max(rooms, key=len) if rooms else None


def imports(path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """``(imported module, line, at function level)`` for every import of our own modules,
    wherever it stands (inside functions and ``if TYPE_CHECKING`` blocks too)."""
    tree = ast.parse(path.read_text())
    nested = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        for name in names:
            while name and name not in known:  # "from a.b import c": c may be a name in a.b
                name = name.rpartition(".")[0]
            if name:
                found.append((name, node.lineno, id(node) in nested))
    return sorted(set(found))


def import_graph() -> dict[str, set[str]]:
    known = set(modules())
    graph: dict[str, set[str]] = {}
    for name, path in modules().items():
        # a package's __init__ is imported with any of its modules: not an edge of its own
        edges = {target for target, _, _ in imports(path, known) if target != name}
        graph[name] = {t for t in edges if not name.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_point_down_the_rooms() -> None:
    wrong = []
    for name, targets in import_graph().items():
        for target in targets:
            here, there = room(name), room(target)
            if here != there and RANKS[there] >= RANKS[here]:
                wrong.append(f"{name} ({here}) imports {target} ({there})")
    assert wrong == []


def test_every_module_has_a_room() -> None:
    for name in modules():
        assert room(name) in RANKS, name


def test_function_level_imports_of_our_modules_are_the_listed_ones() -> None:
    """A function-level import of our own code would hide a cycle from the module graph;
    the one there is defers pandas (start-up cost), and the graph above includes it."""
    known = set(modules())
    nested = sorted(
        {
            (name, target)
            for name, path in modules().items()
            for target, _, at_function_level in imports(path, known)
            if at_function_level
        }
    )
    assert nested == [("dlbasics.sweeps.cli", "dlbasics.sweeps.summary")]


# ``_target_``-style names are Hydra's config keys, not private members
PRIVATE_MEMBER = re.compile(r"\b(\w+)\.(_[a-z]\w*[a-z0-9])\b")


def test_private_members_of_other_libraries_are_used_in_compat_only() -> None:
    """``obj._member`` on anything but ``self`` is a private member of someone else's class."""
    planted = PRIVATE_MEMBER.search("logger.experiment._get_file_writer()")
    assert planted is not None and planted.group(1) == "experiment"  # the check can fail
    found = []
    for name, path in modules().items():
        if name == "dlbasics.compat":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            found += [
                f"{name}:{number}: {m.group(0)}"
                for m in PRIVATE_MEMBER.finditer(code)
                if m.group(1) not in ("self", "cls")
            ]
    assert found == []


@pytest.mark.parametrize("folder", ["src", "conf", "benchmarks"])
def test_nothing_points_outside_the_repository(folder: str) -> None:
    """Docstrings and comments explain themselves; they cite no design note or issue."""
    pattern = re.compile(r"DESIGN\.md|\bthe issue\b|\bissue \d+|\.\./shared", re.IGNORECASE)
    hits = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in sorted((REPO_ROOT / folder).rglob("*"))
        if path.suffix in (".py", ".yaml")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert hits == []
