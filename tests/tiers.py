"""The tiers of the suite (issue 19), assigned in one place so that test modules carry no marker
boilerplate (see tests/README.md):

- ``browser``: the test drives Chromium (it reaches ``sync_playwright``), or its module is listed
  in ``BROWSER_MODULES``;
- ``slow``: it uses the tiny model (``tiny_model``, hence ``tiny_server``), or it is listed in
  ``SLOW_MODULES`` / ``SLOW_TESTS`` (measured: several seconds or more);
- ``cli``: it runs Python in a subprocess (``run_cli``, ``sys.executable``): the CLI or a server;
- ``data``: it reads the real files of ``../shared/data`` (it reaches a name ``SHARED``); such a
  test is skipped, with the missing folder named, when the data is absent.

"Reaches" is read from the source, not guessed from names: a test reaches a name if its function
(decorators included), a fixture it uses, or a module-level helper or constant it refers to
(followed through ``from <test helper module> import ...``) names it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name in the source -> the marker a test that reaches it gets
ROOTS = {"SHARED": "data", "run_cli": "cli", "sys.executable": "cli",
         "sync_playwright": "browser", "tiny_model": "slow"}

BROWSER_MODULES = {"test_browser", "test_browser_report", "test_e2e_browser",
                   "test_hostile_render", "test_rate_browser"}
SLOW_MODULES = {"test_golden"}
# module::test (parameters ignored) measured at several seconds or more (tests/README.md)
SLOW_TESTS: set[str] = set()


def _module_file(name: str) -> Path | None:
    """The file of an imported helper module of the tests (conftest, hostile.corpus, ...)."""
    mod = sys.modules.get(name)
    path = Path(getattr(mod, "__file__", None) or HERE / f"{name.replace('.', '/')}.py").resolve()
    return path if path.is_relative_to(HERE) and path.is_file() else None


def _names(node: ast.AST) -> set[str]:
    """The names a statement refers to: plain names and ``module.attribute``."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
            out.add(f"{n.value.id}.{n.attr}")
    return out


def _imported(node: ast.AST) -> dict[str, set[str]]:
    """The markers of names imported (anywhere inside ``node``) from the tests' own modules."""
    out: dict[str, set[str]] = {}
    for n in ast.walk(node):
        if isinstance(n, ast.ImportFrom) and n.module and (src := _module_file(n.module)):
            if src in _BUSY:  # an import cycle (conftest <-> test_browser): cut it here
                _CUTS.append(src)
            marks = {} if src in _BUSY else reached(src)
            for alias in n.names:
                out[alias.asname or alias.name] = marks.get(alias.name, set())
    return out


_DONE: dict[Path, dict[str, set[str]]] = {}
_BUSY: set[Path] = set()
_CUTS: list[Path] = []


def reached(path: Path) -> dict[str, set[str]]:
    """Each top-level name of a module -> the markers (``ROOTS`` values) it reaches. Kept for
    later only when complete: not cut short by an import cycle, or asked for first."""
    if path in _DONE:
        return _DONE[path]
    cuts = len(_CUTS)
    _BUSY.add(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defs: dict[str, set[str]] = {}  # top-level name -> names it refers to
    found = {name: {mark} for name, mark in ROOTS.items()}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            targets = [stmt.name]
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = [n.id for t in getattr(stmt, "targets", [getattr(stmt, "target", None)])
                       for n in ast.walk(t) if isinstance(n, ast.Name)]
        elif isinstance(stmt, ast.ImportFrom):
            for name, marks in _imported(stmt).items():
                found[name] = found.get(name, set()) | marks
            continue
        else:
            continue
        for t in targets:
            defs.setdefault(t, set()).update(_names(stmt))
            for marks in _imported(stmt).values():  # imports inside a function
                found[t] = found.get(t, set()) | marks
    changed = True
    while changed:  # follow helpers and constants to a fixed point
        changed = False
        for name, refs in defs.items():
            marks = set().union(found.get(name, set()), *(found.get(r, set()) for r in refs))
            if marks != found.get(name, set()):
                found[name], changed = marks, True
    _BUSY.discard(path)
    if len(_CUTS) == cuts or not _BUSY:
        _DONE[path] = found
    return found


def markers(item) -> set[str]:
    """The tier markers of one collected test."""
    module = Path(item.module.__file__).resolve()
    own, shared = reached(module), reached(HERE / "conftest.py")
    marks = set(own.get(item.originalname, set()))
    for fixture in item.fixturenames:
        marks |= own.get(fixture) or shared.get(fixture) or set()
    if module.stem in BROWSER_MODULES:
        marks.add("browser")
    if module.stem in SLOW_MODULES or f"{module.stem}::{item.originalname}" in SLOW_TESTS:
        marks.add("slow")
    return marks
