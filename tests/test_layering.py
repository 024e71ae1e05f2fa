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
ANYTHING = ("*",)
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
    "layers": ("layers", *OCI_CORE),
    "build": ("build", "layers", "oci", "platforms", "plan", "catalog", "registry", "errors",
              "atomic"),
    "verify": ("verify", "layers", "oci", "platforms", "errors"),
    "publish": ("publish", "oci", "registry", "plan", "verify", "platforms", "errors"),
    "hermetic": ("hermetic", "layers", "oci", "registry", "platforms", "errors", "atomic"),
    "audit": ("catalog", "errors", "oci", "plan", "platforms", "registry", "verify"),
    "summary": ("errors", "plan", "platforms", "verify"),
    "pipeline": ("build", "catalog", "errors", "host", "layers", "oci", "plan", "platforms",
                 "publish", "registry", "verify"),
    "host": ("errors",),
    "session": ("build", "errors", "hermetic", "layers", "oci", "platforms", "registry"),
    "shared_registry": ("atomic", "build", "errors", "hermetic", "registry"),
    "gate": ("audit", "catalog", "errors", "oci", "pipeline", "plan", "platforms", "publish",
             "registry", "session", "verify", "workspace"),
    "workspace": ("build.dockerfile", "catalog", "plan", "platforms", "errors"),
    "run_state": ("errors",),
    "": (),  # the package itself: its version only
    # the edges: wire library calls, may import anything
    "cli": ANYTHING,
    "commands": ANYTHING,
    "pytest_plugin": ANYTHING,
}
# Only these modules may print (`print(`, `sys.stdout.write`, `sys.stderr.write`).
PRINTERS = ("cli", "commands")
# Filesystem calls a pure module may not make (pure modules take text and data, not paths).
FS_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "exists", "is_dir",
            "is_file", "iterdir", "glob", "rglob", "stat", "mkdir", "unlink", "rmdir", "touch",
            "resolve", "walk", "listdir", "scandir"}


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
        covers = name == key or (key != "" and name.startswith(key + "."))
        if covers and (best is None or len(key) > len(best)):
            best = key
    return None if best is None else ALLOWED[best]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def calls_of(source: str) -> set[str]:
    """Every called name: `print`, `sys.stdout.write`, and for methods the attribute alone
    (`path.read_text()` -> `read_text`) as well as its dotted form."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            dotted = _dotted(node.func)
            found.add(dotted)
            if isinstance(node.func, ast.Attribute):
                found.add(node.func.attr)
    return found


def printing_calls(source: str) -> set[str]:
    return calls_of(source) & {"print", "sys.stdout.write", "sys.stderr.write"}


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) or "__init__" for p in MODULES])
def test_module_imports_follow_the_layering(path):
    name = module_name(path)
    internal = {i.removeprefix("e2e_images.") for i in imports(path)
                if i.startswith("e2e_images.")}
    assert not internal & {"pytest_plugin", "cli"}, f"{name} imports the plugin or the CLI"
    allowed = rule_for(name)
    assert allowed is not None, f"{name} is not in the layering table (ARCHITECTURE.md)"
    if allowed == ANYTHING:
        return
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


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) or "__init__" for p in MODULES])
def test_only_the_cli_prints(path):
    name = module_name(path)
    if any(name == p or name.startswith(p + ".") for p in PRINTERS):
        return
    found = printing_calls(path.read_text())
    assert not found, f"{name} writes to the terminal ({sorted(found)}); only the CLI prints"


@pytest.mark.parametrize("path", [PACKAGE / (n.replace(".", "/") + ".py") for n in PURE
                                  if (PACKAGE / (n.replace(".", "/") + ".py")).is_file()],
                         ids=lambda p: module_name(p))
def test_core_touches_no_files(path):
    found = calls_of(path.read_text()) & FS_CALLS
    assert not found, f"{module_name(path)} touches the filesystem: {sorted(found)}"


def test_the_checkers_see_prints_files_and_unlisted_modules():
    assert printing_calls("import sys\nprint('x')\nsys.stdout.write('y')\n") == \
        {"print", "sys.stdout.write"}
    assert printing_calls("log.warning('x')\nout.write('y')\n") == set()
    assert calls_of("p = root / 'x'\nif p.is_dir():\n    open(p)\n") & FS_CALLS == \
        {"is_dir", "open"}
    assert rule_for("newmodule") is None
    assert rule_for("commands.build") == ANYTHING
    assert rule_for("") == ()


def _architecture_table_rows() -> set[str]:
    """Module names in the first column of ARCHITECTURE.md's dependency table."""
    text = (PROJECT_ROOT / "ARCHITECTURE.md").read_text()
    table = text[text.index("## Dependency rule"):]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names |= {n.rstrip("/") for n in first.split("`")[1::2]}
    return names


def test_the_architecture_table_names_every_module_the_test_knows():
    documented = _architecture_table_rows()
    missing = {key.split(".")[0] for key in ALLOWED if key} - {
        n.split(".")[0] for n in documented}
    assert not missing, f"ARCHITECTURE.md's dependency table does not list {sorted(missing)}"
