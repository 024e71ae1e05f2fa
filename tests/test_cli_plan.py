"""Bad input: one clear line naming file and line, exit 2, nothing written."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from upstream_tree import write


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_plan(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "e2e_images.cli", "plan", "--json",
                           "--images-dir", str(tree), *args],
                          capture_output=True, text=True, cwd=tree)


def edit(tree: Path, rel: str, text: str | None) -> None:
    if text is None:
        (tree / rel).unlink()
    else:
        write(tree / rel, text)


BAD_INPUTS = [
    ("no-equals", "busybox/BASEIMAGE", "linux/amd64=busybox\nlinux/arm64 busybox\n", (),
     "busybox/BASEIMAGE:2:", "not properly formatted"),
    ("unknown-windows-token", "busybox/BASEIMAGE", "windows/amd64/1809x=nanoserver:1809\n", (),
     "busybox/BASEIMAGE:1:", "unknown Windows release '1809x'"),
    ("four-part-key", "busybox/BASEIMAGE", "linux/amd64=a\nwindows/amd64/v1/1809=b\n", (),
     "busybox/BASEIMAGE:2:", "not properly formatted"),
    ("duplicate-key", "busybox/BASEIMAGE", "linux/amd64=a\nlinux/arm=b\nlinux/amd64=c\n", (),
     "busybox/BASEIMAGE:3:", "duplicate platform 'linux/amd64' (first on line 1)"),
    ("missing-version", "kitten/VERSION", None, (), "kitten/VERSION:", "missing file"),
    ("empty-version", "kitten/VERSION", "\n\n", (), "kitten/VERSION:1:", "file is empty"),
    ("alias-two-lines", "httpd-new/ALIAS", "httpd\nnginx\n", (), "httpd-new/ALIAS:2:",
     "expected one line"),
    ("cycle", "busybox/BASEIMAGE",
     "linux/amd64=busybox:1\nlinux/arm64=REGISTRY/kitten:1.7-linux-arm64\n", (),
     "agnhost/BASEIMAGE:1:", "dependency cycle"),
    ("what-names-nothing", None, None, ("no-such-image",), "images:", "names no image"),
]


@pytest.mark.parametrize(("case", "rel", "text", "what", "where", "message"), BAD_INPUTS,
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_input(upstream_tree, case, rel, text, what, where, message):
    if rel:
        edit(upstream_tree, rel, text)
    before = snapshot(upstream_tree.parent)
    result = run_plan(upstream_tree, *what)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert where in lines[0] and message in lines[0], lines[0]
    assert snapshot(upstream_tree.parent) == before


def test_cycle_message_names_both_images(upstream_tree):
    edit(upstream_tree, "busybox/BASEIMAGE",
         "linux/amd64=busybox:1\nlinux/arm64=REGISTRY/kitten:1.7-linux-arm64\n")
    line = run_plan(upstream_tree).stderr
    # Reported from its first member, at the BASEIMAGE line of that member's edge.
    assert "agnhost -> busybox -> kitten -> agnhost" in line
    assert "agnhost/BASEIMAGE:1:" in line


def test_table_output(upstream_tree):
    result = subprocess.run([sys.executable, "-m", "e2e_images.cli", "plan", "--images-dir",
                             str(upstream_tree), "agnhost"], capture_output=True, text=True,
                            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "agnhost:2.52-windows-amd64-ltsc2022" in result.stdout
    assert "1 images, 8 targets" in result.stdout


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("e2e-images")
    assert exe.exists(), "pip install -e . installs the e2e-images console script"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    assert "plan" in out.stdout
