"""The test suite's own layout: shared helpers live in tests/support/ (conftest.py holds the
fixtures and hooks, and imports from there too), so that no test module imports another:
running one test file must not depend on another's collection, and moving a test must not
break an unrelated one. conftest.py counts as a test module: pytest loads it itself."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


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
