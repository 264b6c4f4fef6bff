"""The package's modules import only from their own layer or the layers below, in the order of the data.

Data flow: structure -> strain -> graph -> model -> SED -> elastic tensor -> moduli. Every module of
``stn_plugin/`` and of the CLI (``cli/``) is read with ``ast`` (nothing is imported); every ``import x`` and
``from x import y`` counts, at module level, inside functions, and under ``if TYPE_CHECKING:`` alike. Type-only
imports are not exempt: an annotation that names a class of a higher layer makes the lower layer's interface depend
on that layer just as a runtime import does (and type checkers follow it), so it has to move with the code.
Dynamic imports (``importlib.import_module`` of a computed name) are not seen.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

ROOT_PACKAGE = "stn_plugin"
"""The package root ``stn_plugin/__init__.py``: its layer holds that module only, not the subpackages."""

LAYERS: dict[int, tuple[str, ...]] = {
    0: (  # no torch-model code
        "stn_plugin.physics",
        "stn_plugin.limits",
        "stn_plugin.io",
        "stn_plugin.runtime",
        "stn_plugin.disk_cache",
    ),
    1: ("stn_plugin.structure",),
    2: ("stn_plugin.graph", "stn_plugin.data"),
    3: ("stn_plugin.layers",),
    4: ("stn_plugin.models",),
    5: ("stn_plugin.predictor", "stn_plugin.registry", "stn_plugin.calc", ROOT_PACKAGE),
    6: ("stn_plugin.training", "stn_plugin.evaluation"),
    7: ("cli", "stn_plugin.cli"),
}
"""Layer of each package or module, lowest first; a module may import from its own layer and the layers below."""

FIRST_PARTY = (ROOT_PACKAGE, "cli")


def layer_of(module: str) -> int | None:
    """Layer of the dotted module name (its most specific entry in ``LAYERS``), None when it has none."""
    matches = [
        (len(name), layer)
        for layer, names in LAYERS.items()
        for name in names
        if module == name or (name != ROOT_PACKAGE and module.startswith(name + "."))
    ]
    return max(matches)[1] if matches else None


def module_name(path: Path) -> str:
    """Dotted name of the source file ``path`` (below ``REPO``); a package's ``__init__.py`` is the package."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    """Every module of ``stn_plugin/`` and ``cli/``: dotted name -> file."""
    paths = [path for package in FIRST_PARTY for path in sorted((REPO / package).rglob("*.py"))]
    return {module_name(path): path for path in paths}


def imported_modules(source: str, module: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) of every first-party import in ``source``, the code of ``module``.

    Relative imports are resolved against ``module`` (its own name when ``is_package``); ``from p import n`` imports
    the module ``p.n`` when that is one of the ``known`` modules, else ``p``.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add((node.lineno, submodule if submodule in known else target))
    return sorted(
        (line, name) for line, name in found if any(name == top or name.startswith(top + ".") for top in FIRST_PARTY)
    )


def upward_imports(source: str, module: str, label: str, is_package: bool, known: set[str]) -> list[str]:
    """Imports in ``source`` (the code of ``module``, shown as ``label``) of a module of a higher layer, or of a
    module without a layer, as ``label:line -> target (layer a -> b)``."""
    own = layer_of(module)
    return [
        f"{label}:{line} -> {target} (layer {own} -> {layer_of(target)})"
        for line, target in imported_modules(source, module, is_package, known)
        if own is None or layer_of(target) is None or layer_of(target) > own
    ]


def test_every_module_has_a_layer() -> None:
    modules = source_modules()
    assert len(modules) > 50 and "stn_plugin.structure.checks" in modules and "cli.main" in modules
    assert [name for name in modules if layer_of(name) is None] == []


def test_no_module_imports_from_a_higher_layer() -> None:
    modules = source_modules()
    offending: list[str] = []
    for module, path in modules.items():
        label = str(path.relative_to(REPO))
        offending += upward_imports(path.read_text(), module, label, path.name == "__init__.py", set(modules))
    assert not offending, "imports from a higher layer:\n" + "\n".join(offending)


def test_the_checker_reports_upward_imports_wherever_they_are() -> None:
    """A synthetic physics module importing upward at module level, in a function, under TYPE_CHECKING and
    relatively: every one is reported with its line; imports from its own and lower layers are not."""
    source = """\
from typing import TYPE_CHECKING

import numpy
from stn_plugin.physics import voigt
from stn_plugin import limits
import stn_plugin.graph.edges

if TYPE_CHECKING:
    from stn_plugin.models.base import StnModel


def predict():
    from ..structure import canonical

    return canonical
"""
    known = {"stn_plugin.physics.voigt", "stn_plugin.limits", "stn_plugin.structure.canonical"}
    offending = upward_imports(source, "stn_plugin.physics.synthetic", "synthetic.py", False, known)
    assert offending == [
        "synthetic.py:6 -> stn_plugin.graph.edges (layer 0 -> 2)",
        "synthetic.py:9 -> stn_plugin.models.base (layer 0 -> 4)",
        "synthetic.py:13 -> stn_plugin.structure.canonical (layer 0 -> 1)",
    ]
    assert upward_imports(source, "cli.synthetic", "synthetic.py", False, known) == []
    assert upward_imports("import stn_plugin.nowhere", "stn_plugin.evaluation.x", "x.py", False, known) == [
        "x.py:1 -> stn_plugin.nowhere (layer 6 -> None)"
    ]
