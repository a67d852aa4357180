"""The layout rules of README's "Code map", checked on the source: no import circle, no module importing another's
private (``_name``) helpers, one definition of the shared helpers, ``core`` never importing a front end, and no
front end importing the other."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "stylize3d", "vector")


def _modules() -> dict:
    """Dotted module name → path, for every module of the three packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path):
    """``(imported module, imported names)`` of every import statement in the module, lazy ones included."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[:len(name.split(".")) - node.level + (path.name == "__init__.py")]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            yield module, tuple(alias.name for alias in node.names)


def _graph() -> dict:
    graph = defaultdict(set)
    for name, path in MODULES.items():
        for module, names in _imports(name, path):
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES] or (
                [module] if module in MODULES else [])
            graph[name].update(t for t in targets if t != name)
    return graph


def _cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle_lazy_imports_included():
    assert _cycles(_graph()) == []


def test_no_module_imports_another_modules_private_names():
    offenders = [f"{name}: from {module} import {n}" for name, path in MODULES.items()
                 for module, names in _imports(name, path) for n in names
                 if n.startswith("_") and not n.startswith("__") and module != name]
    assert offenders == []


@pytest.mark.parametrize("package,forbidden", [("core", ("stylize3d", "vector")), ("stylize3d", ("vector",)),
                                               ("vector", ("stylize3d",))])
def test_packages_import_only_what_the_code_map_allows(package, forbidden):
    offenders = [f"{name} imports {module}" for name, path in MODULES.items() if name.split(".")[0] == package
                 for module, _ in _imports(name, path) if module and module.split(".")[0] in forbidden]
    assert offenders == []


@pytest.mark.parametrize("name", ["psnr", "quat_to_rotmat", "rotmat_to_quat", "IMAGE_SUFFIXES", "SH_C0",
                                  "fit_scene_colour_map", "total_variation"])
def test_a_shared_helper_is_defined_once(name):
    definitions = []
    for module, path in MODULES.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                definitions.append(module)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                definitions += [module for t in targets if isinstance(t, ast.Name) and t.id == name]
    assert len(definitions) == 1, definitions


def test_commands_do_not_dispatch_on_scene_classes():
    """Which representation a scene is, is the registry's business (``stylize3d.representations``)."""
    offenders = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
                names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                if names & {"GaussianScene", "RadianceField"}:
                    offenders.append(module)
    assert offenders == []
