"""Keeps the plugin contract honest: every hook documented, specified and tested."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from postal import hookspecs


ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name for name, value in vars(hookspecs).items()
    if name.startswith("postal_") and inspect.isfunction(value)
)  # fmt: skip


def _test_names() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return names


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name):
    assert f"test_hook_{name}" in _test_names(), f"write a test named test_hook_{name}"


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_with_its_parameters(name):
    function = getattr(hookspecs, name)
    doc = inspect.getdoc(function) or ""
    assert doc, f"{name} has no docstring"
    for parameter in inspect.signature(function).parameters:
        assert f":param {parameter}:" in doc, f"{name} does not document {parameter}"
    options = function.postal_spec
    if options.get("firstresult"):
        assert "The first non-None result wins." in doc


def test_generated_docs_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-docs"), "--check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_appears_in_docs_plugins_md(name):
    text = (ROOT / "docs" / "plugins.md").read_text()
    assert re.search(rf"^### `{name}\(", text, re.M), f"{name} missing from docs/plugins.md"
