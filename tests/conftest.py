"""Shared test configuration: `pytester` for plugin tests, and the upstream-format tree."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # test helpers (upstream_tree) under importlib

from upstream_tree import make_upstream_tree

pytest_plugins = ["pytester"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def upstream_tree(tmp_path: Path) -> Path:
    return make_upstream_tree(tmp_path / "test" / "images")
