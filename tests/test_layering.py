"""The package's layers, checked from the source: an AST walk over ``exofop_mcp/`` (nothing is imported).

The rules (README, "Development"):

* the core (``site/``, ``downloads/``, ``auth/``, ``doctor/``, ``lightcurves/``, ``previews/``, ``planning/``,
  ``followup/``, ``sandbox_files/``, ``file_work/``) imports neither the MCP SDK (``mcp``) nor
  ``exofop_mcp.mcp_server`` nor ``exofop_mcp.cli``;
* only ``replica/`` and ``cli/`` import ``exofop_mcp.replica``, and ``cli/`` only inside functions
  (for the ``demo`` and ``replica`` commands), so that the replica is never loaded otherwise;
* ``site/`` is the bottom layer: it imports nothing from ``auth/``, ``downloads/`` or ``doctor/``;
* no import cycle between modules (imports inside functions count; ``if TYPE_CHECKING:`` ones do not);
* at most eight modules at the top of ``exofop_mcp/``;
* no module outside ``replica/`` is longer than 800 lines.

Every import counts for the layer rules, wherever it is (inside a function, under ``TYPE_CHECKING``),
and so do ``importlib.import_module("...")`` calls with a literal name.  Each failure names the file,
the line, the importing module and what it imports.  The checker is tested on small made-up packages
too, so that a rule that silently finds nothing cannot pass for a clean package.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "exofop_mcp"

CORE = (
    "site",
    "downloads",
    "auth",
    "doctor",
    "lightcurves",
    "previews",
    "planning",
    "followup",
    "sandbox_files",
    "file_work",
)
#: What the core may not import: the MCP SDK, the server and the command line.
CORE_FORBIDDEN = ("mcp", "exofop_mcp.mcp_server", "exofop_mcp.cli")
#: What site/, the bottom layer, may not import.
SITE_FORBIDDEN = ("exofop_mcp.auth", "exofop_mcp.downloads", "exofop_mcp.doctor")
REPLICA = "exofop_mcp.replica"
MAX_TOP_LEVEL_MODULES = 8
MAX_LINES = 800

#: Imports of site/ from a higher layer that exist today and are being removed: delete each entry
#: when its import goes (a warning says when an entry is no longer needed).  Nothing may be added.
SITE_IMPORTS_BEING_REMOVED: frozenset[tuple[str, str]] = frozenset()
#: Modules over MAX_LINES that are being split: delete each entry once its module is short enough
#: (a warning says when).  Nothing may be added.
OVERSIZED_MODULES_BEING_SPLIT: frozenset[str] = frozenset()


# -- the walk ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. exofop_mcp.site.client
    target: str  # the imported module, e.g. exofop_mcp.auth.session_pool or mcp.types
    path: str  # the importing file, relative to the package's parent
    line: int
    in_function: bool
    type_checking: bool
    #: inside a package ``__init__``'s module-level ``__getattr__`` (a PEP 562 lazy re-export)
    lazy_export: bool = False

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


@dataclass(frozen=True)
class Module:
    name: str
    path: str  # relative to the package's parent, with slashes
    lines: int
    imports: tuple[Import, ...]


def module_name(file: Path, root: Path) -> str:
    parts = list(file.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    """The absolute module of ``from ... import``, resolving relative imports against ``name``."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports_of(tree: ast.Module, name: str, path: str, is_package: bool, known: set[str]) -> Iterator[Import]:
    def visit(node: ast.AST, in_function: bool, type_checking: bool, lazy: bool = False) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(child, name, is_package)
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in known else base)
            elif (
                isinstance(child, ast.Call)
                and (
                    (isinstance(child.func, ast.Attribute) and child.func.attr == "import_module")
                    or (isinstance(child.func, ast.Name) and child.func.id in ("import_module", "__import__"))
                )
                and child.args
                and isinstance(child.args[0], ast.Constant)
                and isinstance(child.args[0].value, str)
            ):
                targets = [child.args[0].value]
            for target in dict.fromkeys(targets):
                yield Import(name, target, path, child.lineno, in_function, type_checking, lazy)
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for body_node in child.body:
                    yield from visit(ast.Module(body=[body_node], type_ignores=[]), in_function, True, lazy)
                for else_node in child.orelse:
                    yield from visit(ast.Module(body=[else_node], type_ignores=[]), in_function, type_checking, lazy)
                continue
            is_function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            getattr_hook = (
                is_package and not in_function and isinstance(child, ast.FunctionDef) and (child.name == "__getattr__")
            )
            yield from visit(child, in_function or is_function, type_checking, lazy or getattr_hook)

    yield from visit(tree, False, False)


def scan(root: Path) -> dict[str, Module]:
    """Every module of the package at ``root``, by dotted name, with its imports."""
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    known = {module_name(f, root) for f in files}
    modules = {}
    for file in files:
        name = module_name(file, root)
        path = file.relative_to(root.parent).as_posix()
        text = file.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=path)
        imports = tuple(_imports_of(tree, name, path, file.name == "__init__.py", known))
        modules[name] = Module(name, path, len(text.splitlines()), imports)
    return modules


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _all_imports(modules: dict[str, Module]) -> Iterator[Import]:
    for module in modules.values():
        yield from module.imports


# -- the rules (each returns its failure messages) ------------------------------------------------------------


def core_imports_no_mcp_server_or_cli(modules: dict[str, Module], package: str = "exofop_mcp") -> list[str]:
    core = [f"{package}.{sub}" for sub in CORE]
    forbidden = [f.replace("exofop_mcp", package, 1) if f.startswith("exofop_mcp") else f for f in CORE_FORBIDDEN]
    return [
        f"{imp.where()}: the core ({', '.join(s + '/' for s in CORE)}) must not import the MCP SDK, "
        f"{package}.mcp_server or {package}.cli; move this code up to mcp_server/ or cli/, or pass what it needs in"
        for imp in _all_imports(modules)
        if any(_within(imp.source, c) for c in core) and any(_within(imp.target, f) for f in forbidden)
    ]


def replica_only_from_cli_functions(modules: dict[str, Module], package: str = "exofop_mcp") -> list[str]:
    replica = REPLICA.replace("exofop_mcp", package, 1)
    cli = f"{package}.cli"
    problems = []
    for imp in _all_imports(modules):
        if not _within(imp.target, replica) or _within(imp.source, replica):
            continue
        if not _within(imp.source, cli):
            problems.append(f"{imp.where()}: production code never imports the replica (only cli/ may, lazily)")
        elif not imp.in_function:
            problems.append(
                f"{imp.where()} at module level: cli/ may import the replica only inside the functions "
                "of the `demo` and `replica` commands"
            )
    return problems


def site_is_the_bottom_layer(
    modules: dict[str, Module], package: str = "exofop_mcp", allowed: frozenset[tuple[str, str]] = frozenset()
) -> list[str]:
    site = f"{package}.site"
    forbidden = [f.replace("exofop_mcp", package, 1) for f in SITE_FORBIDDEN]
    return [
        f"{imp.where()}: site/ is the bottom layer and must not import auth/, downloads/ or doctor/; "
        "pass what it needs in from the caller"
        for imp in _all_imports(modules)
        if _within(imp.source, site)
        and any(_within(imp.target, f) for f in forbidden)
        and (imp.source, imp.target) not in allowed
    ]


def import_cycles(modules: dict[str, Module]) -> list[str]:
    """Cycles among the package's own modules: Tarjan's strongly connected components.

    Imports under ``if TYPE_CHECKING:`` are not edges; imports inside functions are, except inside a
    package ``__init__``'s module-level ``__getattr__``: such a lazy re-export (``exofop_mcp.Exofop``)
    runs only when someone asks the initialised package for that name, and the modules below may read
    the package's own constants (``from exofop_mcp import __version__``).
    """
    edges: dict[str, dict[str, Import]] = {name: {} for name in modules}
    for imp in _all_imports(modules):
        if imp.target in modules and not imp.type_checking and not imp.lazy_export:
            edges[imp.source].setdefault(imp.target, imp)

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                components.append(sorted(component))

    for name in sorted(modules):
        if name not in index:
            connect(name)

    problems = []
    for component in sorted(components):
        members = set(component)
        inside = [imp for src in component for dst, imp in sorted(edges[src].items()) if dst in members]
        lines = "; ".join(imp.where() + (" (in a function)" if imp.in_function else "") for imp in inside)
        problems.append(f"import cycle among {', '.join(component)}: {lines}")
    return problems


def top_level_modules(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*.py"))


def too_many_top_level_modules(root: Path) -> list[str]:
    found = top_level_modules(root)
    if len(found) <= MAX_TOP_LEVEL_MODULES:
        return []
    return [
        f"{len(found)} modules at the top of {root.name}/ ({', '.join(found)}); at most {MAX_TOP_LEVEL_MODULES}: "
        "put the new one in the subpackage it belongs to"
    ]


def oversized_modules(
    modules: dict[str, Module], package: str = "exofop_mcp", allowed: frozenset[str] = frozenset()
) -> list[str]:
    return [
        f"{m.path}: {m.lines} lines, more than {MAX_LINES}; split {m.name} by job"
        for m in modules.values()
        if not _within(m.name, f"{package}.replica") and m.lines > MAX_LINES and m.path not in allowed
    ]


# -- the package ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    found = scan(PACKAGE_ROOT)
    # the walk sees the package: its subpackages, and the lazy replica import of the command line
    assert {f"exofop_mcp.{sub}" for sub in (*CORE, "mcp_server", "cli", "replica")} <= set(found)
    assert any(_within(i.target, REPLICA) and i.in_function for i in found["exofop_mcp.cli.main"].imports)
    return found


def _fail_with(problems: list[str]) -> None:
    assert not problems, "\n".join(problems)


def test_core_imports_no_mcp_sdk_server_or_cli(modules: dict[str, Module]) -> None:
    _fail_with(core_imports_no_mcp_server_or_cli(modules))


def test_only_cli_functions_import_the_replica(modules: dict[str, Module]) -> None:
    _fail_with(replica_only_from_cli_functions(modules))


def test_site_is_the_bottom_layer(modules: dict[str, Module]) -> None:
    _fail_with(site_is_the_bottom_layer(modules, allowed=SITE_IMPORTS_BEING_REMOVED))
    present = {(i.source, i.target) for i in _all_imports(modules)}
    for source, target in sorted(SITE_IMPORTS_BEING_REMOVED - present):
        warnings.warn(f"{source} no longer imports {target}: remove it from SITE_IMPORTS_BEING_REMOVED", stacklevel=1)


def test_no_import_cycles(modules: dict[str, Module]) -> None:
    _fail_with(import_cycles(modules))


def test_at_most_eight_top_level_modules() -> None:
    _fail_with(too_many_top_level_modules(PACKAGE_ROOT))


def test_no_module_outside_the_replica_is_too_long(modules: dict[str, Module]) -> None:
    _fail_with(oversized_modules(modules, allowed=OVERSIZED_MODULES_BEING_SPLIT))
    lengths = {m.path: m.lines for m in modules.values()}
    for path in sorted(OVERSIZED_MODULES_BEING_SPLIT):
        if lengths.get(path, 0) <= MAX_LINES:
            warnings.warn(
                f"{path} is {lengths.get(path, 0)} lines now: remove it from OVERSIZED_MODULES_BEING_SPLIT",
                stacklevel=1,
            )


# -- the checker itself, on a made-up package that breaks every rule --------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_checker_finds_each_kind_of_violation(tmp_path: Path) -> None:
    files = {
        "__init__.py": "",
        "site/__init__.py": "",
        "site/client.py": "from pkg.auth import pool\nfrom ..downloads.transfer import fetch\n",
        "site/types_only.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mcp import types\n",
        "auth/__init__.py": "",
        "auth/pool.py": "import pkg.site.client\n",
        "downloads/__init__.py": "",
        "downloads/transfer.py": "def f():\n    from pkg.cli import main\n",
        "doctor/__init__.py": "",
        "doctor/checks.py": "import importlib\nimportlib.import_module('pkg.replica.site')\n" + "x = 1\n" * 801,
        "cli/__init__.py": "",
        "cli/main.py": "from pkg.replica import Replica\ndef demo():\n    from pkg.replica.site import Site\n",
        "replica/__init__.py": "from .site import Site\n",
        "replica/site.py": "import pkg.replica\nfrom pkg.replica import config\n" + "y = 2\n" * 900,
        "replica/config.py": "",
        **{f"top{i}.py": "" for i in range(8)},
    }
    root = _write(tmp_path, files)
    found = scan(root)
    core = core_imports_no_mcp_server_or_cli(found, "pkg")
    assert len(core) == 2
    assert core[0].startswith("pkg/downloads/transfer.py:2: pkg.downloads.transfer imports pkg.cli.main: ")
    assert core[1].startswith("pkg/site/types_only.py:3: pkg.site.types_only imports mcp: ")

    replica = replica_only_from_cli_functions(found, "pkg")
    assert len(replica) == 2
    assert replica[0].startswith("pkg/cli/main.py:1: pkg.cli.main imports pkg.replica at module level: ")
    assert replica[1].startswith("pkg/doctor/checks.py:2: pkg.doctor.checks imports pkg.replica.site: ")

    site = site_is_the_bottom_layer(found, "pkg")
    assert [s.split(": site/")[0] for s in site] == [
        "pkg/site/client.py:1: pkg.site.client imports pkg.auth.pool",
        "pkg/site/client.py:2: pkg.site.client imports pkg.downloads.transfer",
    ]
    assert site_is_the_bottom_layer(found, "pkg", allowed=frozenset({("pkg.site.client", "pkg.auth.pool")})) == [
        site[1]
    ]

    cycles = import_cycles(found)
    assert len(cycles) == 2
    assert cycles[0].startswith("import cycle among pkg.auth.pool, pkg.site.client: ")
    assert "pkg/auth/pool.py:1: pkg.auth.pool imports pkg.site.client" in cycles[0]
    assert "pkg/site/client.py:1: pkg.site.client imports pkg.auth.pool" in cycles[0]
    assert cycles[1].startswith("import cycle among pkg.replica, pkg.replica.site: ")

    assert too_many_top_level_modules(root)[0].startswith("9 modules at the top of pkg/ (__init__.py, top0.py")
    assert oversized_modules(found, "pkg") == [
        "pkg/doctor/checks.py: 803 lines, more than 800; split pkg.doctor.checks by job"
    ]
    assert oversized_modules(found, "pkg", allowed=frozenset({"pkg/doctor/checks.py"})) == []


def test_type_checking_imports_and_lazy_exports_make_no_cycle_but_function_imports_do(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n",
            "b.py": "import pkg.a\n",
            "c.py": "import pkg.d\n",
            "d.py": "def later():\n    from pkg import c\n",
            "e/__init__.py": "VERSION = 1\ndef __getattr__(name):\n    from pkg.e.f import F\n    return F\n",
            "e/f.py": "from pkg.e import VERSION\nF = VERSION\n",
        },
    )
    assert import_cycles(scan(root)) == [
        "import cycle among pkg.c, pkg.d: pkg/c.py:1: pkg.c imports pkg.d; "
        "pkg/d.py:2: pkg.d imports pkg.c (in a function)"
    ]


def test_no_test_imports_the_conftest() -> None:
    """Shared test code lives in tests/helpers/; fixtures reach tests through pytest, never by import."""
    tests_root = Path(__file__).resolve().parent
    problems = [
        imp.where()
        for module in scan(tests_root).values()
        for imp in module.imports
        if imp.target.split(".")[-1] == "conftest" or imp.target.startswith("tests.conftest")
    ]
    assert not problems, "import from tests/helpers/ instead:\n" + "\n".join(problems)
