"""ARCHITECTURE.md against the tree: every module sits in a layer, imports go down the layers
(the service and the CLI, side by side on top, never import each other), and there is no
import cycle.  The imports are read from the source with `ast`, function-level ones
included.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGE = (ROOT / "ARCHITECTURE.md").read_text()
BASE = (
    "owners.cache",
    "owners.console",
    "owners.gerrit",
    "owners.gitrepo",
    "owners.insight",
    "owners.migrate",
    "owners.views",
    "owners.wording",
)
# Each layer's packages and its height: a module may import its own layer or a lower one.
LAYERS = {
    "engine": (0, ("owners.engine",)),
    "base": (1, ("owners", *BASE)),
    "service": (2, ("webhook",)),
    "cli": (2, ("owners.cli",)),
}



def modules() -> dict[str, Path]:
    found = {}
    for package in ("owners", "webhook"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def layer(module: str) -> str:
    """The layer of a module: the one naming its longest package prefix."""
    _, name = max(
        (prefix, name)
        for name, (_, prefixes) in LAYERS.items()
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    )
    return name


def may_import(importer: str, target: str) -> bool:
    here, there = layer(importer), layer(target)
    return here == there or LAYERS[there][0] < LAYERS[here][0]


def imports() -> dict[str, set[str]]:
    """Each module's imports of the project's own modules (the longest existing prefix)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in known and t != name)
    return graph


def test_every_module_is_in_a_layer_the_page_names() -> None:
    for module in modules():
        assert layer(module) in LAYERS
    for prefix in ("owners.engine", "owners.cli", "webhook", *BASE):
        assert f"`{prefix}" in PAGE, f"ARCHITECTURE.md does not name {prefix}"


def test_imports_go_down_the_layers_and_the_top_layers_never_meet() -> None:
    against = {
        (name, target)
        for name, targets in imports().items()
        for target in targets
        if not may_import(name, target)
    }
    assert against == set()


def test_there_is_no_import_cycle() -> None:
    graph = imports()
    reach = {name: reachable(graph, name) for name in graph}
    cycles = {
        frozenset({name} | {other for other in reach[name] if name in reach[other]})
        for name in graph
        if name in reach[name]
    }
    assert cycles == set()


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or not."""
    reach, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()] - reach:
            reach.add(target)
            todo.append(target)
    return reach


@pytest.mark.parametrize("name", sorted(set(re.findall(r"`((?:owners|webhook)\.[\w.]+)`", PAGE))))
def test_every_home_the_page_names_exists(name: str) -> None:
    known = modules()
    parts = name.split(".")
    cut = next((n for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in known), 0)
    assert cut, f"ARCHITECTURE.md names {name}, which is not in the tree"
    target = importlib.import_module(".".join(parts[:cut]))
    for attr in parts[cut:]:
        target = getattr(target, attr)
