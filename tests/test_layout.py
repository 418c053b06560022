"""The test suite's own layout: shared helpers live in tests/conftest.py or tests/support/,
so that no test module imports another (running one test file must not depend on another's
collection, and moving a test must not break an unrelated one)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_test_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a `tests.test_*` module in `source`, however it is
    spelled: `import tests.test_x`, `from tests.test_x import y`, `from tests import test_x`,
    or relative (`from .test_x import y`, `from . import test_x`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("tests.test_")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:
                module = f"tests.{module}" if module else "tests"
            if module.startswith("tests.test_"):
                found.append((node.lineno, module))
            elif module == "tests":
                found += [
                    (node.lineno, f"tests.{a.name}")
                    for a in node.names
                    if a.name.startswith("test_")
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
    )
    assert [m for _, m in imported_test_modules(source)] == [
        "tests.test_a",
        "tests.test_b",
        "tests.test_c",
        "tests.test_d",
        "tests.test_e",
        "tests.test_f",
    ]


def test_no_test_module_imports_another() -> None:
    modules = sorted(TESTS.glob("test_*.py"))
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
