"""The test suite's own layout: shared helpers live in tests/support/ (conftest.py holds the
fixtures and hooks, and imports from there too), so that no test module imports another:
running one test file must not depend on another's collection, and moving a test must not
break an unrelated one. conftest.py counts as a test module: pytest loads it itself."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _is_test_module(name: str) -> bool:
    """`test_x` or `conftest`, or something inside one (`test_x.helper`)."""
    first = name.split(".")[0]
    return first.startswith("test_") or first == "conftest"


def imported_test_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a `tests.test_*` module or of `tests.conftest` in
    `source`, however it is spelled: `import tests.test_x`, `from tests.test_x import y`,
    `from tests import test_x`, or relative (`from .test_x import y`, `from . import test_x`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name)
                for a in node.names
                if a.name.startswith("tests.") and _is_test_module(a.name.removeprefix("tests."))
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:
                module = f"tests.{module}" if module else "tests"
            if module.startswith("tests.") and _is_test_module(module.removeprefix("tests.")):
                found.append((node.lineno, module))
            elif module == "tests":
                found += [
                    (node.lineno, f"tests.{a.name}") for a in node.names if _is_test_module(a.name)
                ]
    return found


def test_the_detector_sees_every_spelling() -> None:
    source = (
        "import tests.test_a\n"
        "from tests.test_b import x\n"
        "from tests import test_c, support\n"
        "from .test_d import y\n"
        "from . import test_e\n"
        "def f():\n    from tests.test_f import z\n"
        "from tests.support.sim import TOPIC\n"
        "import tests.conftest\n"
        "from tests.conftest import REPO\n"
        "from tests import conftest\n"
        "from .conftest import NetworkBlocked\n"
        "import tests.support.testing_aids\n"
    )
    assert sorted(m for _, m in imported_test_modules(source)) == [
        "tests.conftest",
        "tests.conftest",
        "tests.conftest",
        "tests.conftest",
        "tests.test_a",
        "tests.test_b",
        "tests.test_c",
        "tests.test_d",
        "tests.test_e",
        "tests.test_f",
    ]


def test_no_test_module_imports_another() -> None:
    modules = sorted([*TESTS.glob("test_*.py"), TESTS / "conftest.py"])
    assert len(modules) > 40, "the glob finds the suite"
    offenders = [
        f"{path.name}:{line} imports {module}"
        for path in modules
        for line, module in imported_test_modules(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "move shared helpers to tests/support/: " + "; ".join(offenders)


def test_shared_helpers_live_in_support() -> None:
    loose = sorted(p.name for p in TESTS.glob("*.py") if not p.name.startswith("test_"))
    assert loose == ["__init__.py", "conftest.py"], f"move {loose} into tests/support/"


# --- one-way layers: monitor/ below the composition root never imports alerts/ -------------

# The composition root: the commands that wire alerts, the bot and the digest into the runtime.
COMPOSITION_ROOT = ("monitor/cli.py", "monitor/demo.py", "monitor/app/")


def imports_of(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) for every absolute import of `package` or a module inside it, anywhere in
    `source` (in a function, under TYPE_CHECKING): `import p`, `import p.x as y`,
    `from p import x`, `from p.x import y`."""

    def inside(name: str) -> bool:
        return name == package or name.startswith(f"{package}.")

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if inside(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and inside(node.module or ""):
            found.append((node.lineno, node.module or ""))
    return sorted(found)


def test_the_import_finder_sees_every_spelling() -> None:
    source = (
        "import alerts\n"
        "import alerts.health as health\n"
        "from alerts import dispatch\n"
        "from alerts.digest import schedule\n"
        "def f():\n    from alerts.bot import run_bot\n"
        "if TYPE_CHECKING:\n    from alerts.engine import evaluate\n"
        "import alertsmith\n"
        "from monitor.alerts_view import x\n"
        "from .alerts import y\n"
    )
    assert imports_of(source, "alerts") == [
        (1, "alerts"),
        (2, "alerts.health"),
        (3, "alerts"),
        (4, "alerts.digest"),
        (6, "alerts.bot"),
        (8, "alerts.engine"),
    ]


def below_the_root(path: Path) -> bool:
    relative = path.relative_to(REPO).as_posix()
    return not any(relative == root or relative.startswith(root) for root in COMPOSITION_ROOT)


def test_monitor_below_the_composition_root_never_imports_alerts() -> None:
    for root in COMPOSITION_ROOT:
        assert (REPO / root).exists(), f"{root} is gone: update COMPOSITION_ROOT"
    modules = [p for p in sorted((REPO / "monitor").rglob("*.py")) if below_the_root(p)]
    assert len(modules) > 50 and not below_the_root(REPO / "monitor/app/run.py")
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in modules
        for line, module in imports_of(path.read_text(encoding="utf-8"), "alerts")
    ]
    assert offenders == [], (
        "monitor/ below the composition root must not import alerts/: hand it in from "
        "monitor/app (a stage, a task, an opener, a callback): " + "; ".join(offenders)
    )


# What alerts/ may still take from monitor/runtime/: the pure Retry-After maths, which the
# request policy (issue 20 item 5) owns. A clock is handed in; monitor/apart.py and
# monitor/runlock.py sit beside the store, for both sides.
ALERTS_FROM_THE_RUNTIME = {"monitor.runtime.delays"}


def test_alerts_is_handed_the_runtime_not_importing_it() -> None:
    modules = sorted((REPO / "alerts").rglob("*.py"))
    assert len(modules) > 30, "the glob finds alerts/"
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in modules
        for line, module in imports_of(path.read_text(encoding="utf-8"), "monitor.runtime")
        if module not in ALERTS_FROM_THE_RUNTIME
    ]
    assert offenders == [], "hand it in from monitor/app instead: " + "; ".join(offenders)


# --- the store is pingfan's only door to the database ----------------------------------------

DATABASE_DRIVERS = ("sqlite3", "sqlite_utils", "psycopg")


def _modules_imported(source: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every absolute import in `source`, at any depth: `import a.b`
    gives a.b, `from a.b import c` gives a.b."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _names(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def _store_door_offenders() -> list[str]:
    offenders = []
    for package in ("monitor", "alerts", "nlp", "benchmarks"):
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            inside_store = relative.startswith("monitor/store/")
            for line, module in _modules_imported(path.read_text(encoding="utf-8")):
                if not inside_store and _names(module, DATABASE_DRIVERS):
                    offenders.append(f"{relative}:{line} imports {module} (use the store)")
                if inside_store and _names(module, ("nlp",)):
                    offenders.append(f"{relative}:{line} imports {module} (hand it in)")
    return offenders


def test_the_import_reader_sees_every_spelling() -> None:
    source = (
        "import sqlite3\n"
        "from sqlite3 import Error\n"
        "import os, sqlite3.dbapi2\n"
        "def f():\n    from nlp import segment\n"
        "from .errors import QueryFailed\n"
        "from psycopg.rows import dict_row\n"
    )
    imported = [module for _, module in _modules_imported(source)]
    assert [m for m in imported if _names(m, DATABASE_DRIVERS)] == [
        "sqlite3",
        "sqlite3",
        "sqlite3.dbapi2",
        "psycopg.rows",
    ]
    assert [m for m in imported if _names(m, ("nlp",))] == ["nlp"]
    assert not _names("sqlite3x", DATABASE_DRIVERS) and not _names("nlpx", ("nlp",))


def test_only_the_store_talks_to_the_database_and_it_imports_nothing_from_nlp() -> None:
    """No sqlite3 (or sqlite-utils, or psycopg) outside monitor/store/ in monitor/, alerts/,
    nlp/ and benchmarks/: the databases' errors reach callers as pingfan's. And no arrow from
    monitor/store/ into nlp/: the full-text tokenizer is handed to the store by whoever opens
    it."""
    assert len(list((REPO / "monitor" / "store").glob("*.py"))) > 5, "the glob finds the store"
    offenders = _store_door_offenders()
    assert offenders == [], "; ".join(offenders)


# --- one-way arrows inside alerts/ ---------------------------------------------------------

# (package whose modules may not import, the modules they may not import, why)
FORBIDDEN_ARROWS = (
    ("alerts.sinks", ("alerts.digest",), "what sinks share with the digest is alerts.chat_markup"),
    (
        "alerts.rules",
        ("alerts.render", "alerts.i18n", "alerts.wording"),
        "rules return facts; the engine words them (alerts/wording.py)",
    ),
)


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) for every import in `source` (the code of `module`), relative ones
    resolved, each `from package import name` also counted as `package.name`."""
    package = module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _forbidden(module: str, imported: str) -> str | None:
    for owner, targets, why in FORBIDDEN_ARROWS:
        if module == owner or module.startswith(owner + "."):
            for target in targets:
                if imported == target or imported.startswith(target + "."):
                    return why
    return None


def test_the_arrow_detector_sees_every_spelling() -> None:
    source = (
        "from alerts.digest import chat\n"
        "from alerts import digest, safe_text\n"
        "import alerts.digest.summary\n"
        "from ..digest.chat import x\n"
        "def f():\n    from alerts import i18n\n"
    )
    imports = [m for _, m in imported_modules(source, "alerts.sinks.telegram")]
    assert [m for m in imports if _forbidden("alerts.sinks.telegram", m)] == [
        "alerts.digest",
        "alerts.digest.chat",
        "alerts.digest",
        "alerts.digest.summary",
        "alerts.digest.chat",
        "alerts.digest.chat.x",
    ]
    assert [m for m in imports if _forbidden("alerts.rules.ugc", m)] == ["alerts.i18n"]
    assert _forbidden("alerts.rules.base", "alerts.render") is not None
    assert _forbidden("alerts.rules.base", "alerts.safe_text") is None  # masking is no words
    assert _forbidden("alerts.engine", "alerts.wording") is None


def test_sinks_do_not_import_the_digest_nor_rules_the_words() -> None:
    offenders = []
    for path in sorted((REPO / "alerts").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if path.name == "__init__.py":
            module += ".__init__"  # relative imports resolve against the package itself
        for line, imported in imported_modules(path.read_text(encoding="utf-8"), module):
            why = _forbidden(module.removesuffix(".__init__"), imported)
            if why:
                offenders.append(f"{path.relative_to(REPO)}:{line} imports {imported} ({why})")
    assert offenders == []
