"""The test tree's own rules: helpers live in ordinary modules (``tests/support``), and a
conftest holds fixtures only, so no module imports one."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def conftest_imports(source: str) -> list[str]:
    """The conftest modules that ``source`` imports, anywhere in it, sorted."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if "conftest" in a.name.split(".")]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if "conftest" in (node.module or "").split("."):
                found.append(module)
            else:  # ``from tests.e2e import conftest``, ``from . import conftest``
                joined = module if module.endswith(".") else f"{module}."
                found += [f"{joined}conftest" for a in node.names if a.name == "conftest"]
    return sorted(found)


def test_the_check_finds_every_form_of_conftest_import() -> None:
    source = "\n".join(
        [
            "import tests.e2e.conftest",
            "import tests.services.conftest as c",
            "from tests.e2e.conftest import Studio",
            "from tests.e2e import conftest",
            "from . import conftest",
            "from .conftest import World",
            "def f():\n    from tests.storage.conftest import engine",
            "import tests.support.world",
            "from tests.support.world import World, conftest_like",
            "x = 'from tests.e2e.conftest import Studio'",
        ]
    )
    assert conftest_imports(source) == [
        ".conftest",
        ".conftest",
        "tests.e2e.conftest",
        "tests.e2e.conftest",
        "tests.e2e.conftest",
        "tests.services.conftest",
        "tests.storage.conftest",
    ]


def test_no_module_under_tests_imports_a_conftest() -> None:
    modules = sorted(TESTS.rglob("*.py"))
    assert len(modules) > 50  # the walk really found the suite
    offenders = {
        str(path.relative_to(TESTS)): names
        for path in modules
        if (names := conftest_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "move what they use into tests/support: " + repr(offenders)
