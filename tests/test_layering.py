"""The import graph follows the layering rule (ARCHITECTURE.md), checked from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

PACKAGE = PROJECT_ROOT / "e2e_images"
OCI_CORE = ("errors", "oci.media_types", "oci.digest", "oci.models", "oci.mutate", "oci.image")
PURE = ("errors", "refgrammar", "platforms", "oci.media_types", "oci.digest", "oci.models",
        "oci.mutate", "plan")
IO_MODULES = {"socket", "subprocess", "requests", "http", "urllib.request", "docker",
              "filelock", "shutil"}

# module (or package prefix) -> the e2e_images modules it may import (prefixes)
ALLOWED: dict[str, tuple[str, ...]] = {
    "errors": (),
    "atomic": (),
    "refgrammar": (),
    "oci.media_types": (),
    "platforms": ("errors", "oci.models", "oci.digest", "oci.media_types"),
    "oci.digest": OCI_CORE,
    "oci.models": OCI_CORE,
    "oci.mutate": (*OCI_CORE, "platforms"),
    "oci.image": OCI_CORE,
    "oci": ("oci", "errors", "platforms"),
    "catalog": ("platforms", "errors", "refgrammar"),
    "plan": ("catalog", "platforms", "errors", *OCI_CORE),
    "registry.embedded": OCI_CORE,
    "registry": ("registry", "oci", "platforms", "errors", "refgrammar"),
    "build": ("build", "oci", "platforms", "plan", "catalog", "registry", "errors", "atomic"),
    "verify": ("verify", "oci", "platforms", "errors"),
    "publish": ("publish", "oci", "registry", "plan", "verify", "platforms", "errors"),
    "hermetic": ("hermetic", "oci", "registry", "build", "platforms", "errors", "atomic"),
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").exists()


def imports_of(source: str, name: str) -> set[str]:
    """Absolute module names imported; `from pkg import mod` counts as `pkg.mod`."""
    found: set[str] = set()
    package = name.rsplit(".", 1)[0] if "." in name else ""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative import
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = "e2e_images." + ".".join(p for p in [*parts, module] if p)
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub.startswith("e2e_images.") and _is_module(sub) else module)
    return found


def imports(path: Path) -> set[str]:
    return imports_of(path.read_text(), module_name(path))


def rule_for(name: str) -> tuple[str, ...] | None:
    best = None
    for key in ALLOWED:
        if (name == key or name.startswith(key + ".")) and (best is None or len(key) > len(best)):
            best = key
    return None if best is None else ALLOWED[best]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) or "__init__" for p in MODULES])
def test_module_imports_follow_the_layering(path):
    name = module_name(path)
    internal = {i.removeprefix("e2e_images.") for i in imports(path)
                if i.startswith("e2e_images.")}
    assert not internal & {"pytest_plugin", "cli"}, f"{name} imports the plugin or the CLI"
    allowed = rule_for(name)
    if allowed is None:
        return  # edges (cli, commands, pytest_plugin, workspace, run_state) may import anything
    bad = {i for i in internal
           if i != name and not any(i == a or i.startswith(a + ".") for a in allowed)}
    assert not bad, f"{name} may not import {sorted(bad)}"


@pytest.mark.parametrize("path", [PACKAGE / (n.replace(".", "/") + ".py") for n in PURE
                                  if (PACKAGE / (n.replace(".", "/") + ".py")).is_file()],
                         ids=lambda p: module_name(p))
def test_core_opens_no_io(path):
    name = module_name(path)
    used = {i.split(".")[0] for i in imports(path)} | imports(path)
    assert not used & IO_MODULES, f"{name} imports {sorted(used & IO_MODULES)}"


def test_the_checker_sees_a_violation():
    found = imports_of("from e2e_images.oci import media_types\nfrom ..registry import x\n"
                       "import subprocess\n", "verify.checks")
    assert found == {"e2e_images.oci.media_types", "e2e_images.registry", "subprocess"}
    allowed = rule_for("verify.checks")
    assert allowed == ALLOWED["verify"]
    assert not any(a == "registry" or "registry".startswith(a + ".") for a in allowed)
