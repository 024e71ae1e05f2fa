"""The expectations file: schema, line-numbered errors, per-OS merging, the catalog's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_builders import Builder

from e2e_images.verify.checks.metadata import MetadataCheck
from e2e_images.verify.expectations import (
    EXPECTATIONS_FILE,
    ExpectationsError,
    load_expectations,
    parse_expectations,
)
from e2e_images.verify.runner import run_checks

IMAGES = Path(__file__).resolve().parents[2] / "images"

GOOD = """\
schemaVersion: "1.0.0"
all:
  metadata:
    labels: {image_version: "$(VERSION)"}
    entrypoint: []
windows:
  rootImage: nanoserver
  fileExistence:
    - {path: /Windows/System32/vcruntime140.dll}
    - {path: /bin/ls.exe, isSymlink: true, linkTarget: busybox.exe}
  symlinks:
    - {directory: /bin, resolvesTo: /bin/busybox.exe, minCount: 4}
  goBinaries:
    - {path: /bin/hostname.exe, version: "$(VERSION)"}
  metadata:
    entrypoint: [cmd.exe, /s, /c]
    user: ContainerAdministrator
  sizeLimits: {addedBytes: 1MiB}
linux:
  fileExistence:
    - {path: /bin/sh, shouldExist: false}
  metadata:
    cmd: [pause]
"""


def test_parse_merge_and_version_substitution():
    exp = parse_expectations(GOOD, source="x.yaml", version="1.36.1-1")
    win, linux = exp.for_os("windows"), exp.for_os("linux")
    assert win.metadata == MetadataCheck(labels={"image_version": "1.36.1-1"},
                                         entrypoint=("cmd.exe", "/s", "/c"),
                                         user="ContainerAdministrator")
    assert linux.metadata == MetadataCheck(labels={"image_version": "1.36.1-1"},
                                           entrypoint=(), cmd=("pause",))
    assert win.root_image == "nanoserver" and not linux.root_image
    assert [f.path for f in win.file_existence] == ["/Windows/System32/vcruntime140.dll",
                                                    "/bin/ls.exe"]
    assert win.go_binaries[0].version == "1.36.1-1"
    assert win.size.added_bytes == 1 << 20
    assert linux.file_existence[0].should_exist is False


def test_expectations_drive_the_checks_of_a_built_image():
    b = Builder()
    exp = parse_expectations(GOOD, version="1.36.1-1")
    good = b.add(b.busybox("ltsc2022"), runtime={"Labels": {"image_version": "1.36.1-1"}})
    report = run_checks(good, expectations=exp)
    assert report.passed, report.lines()
    assert {r.check for r in report.results} >= {"windows_layer", "metadata", "file_existence",
                                                 "symlinks", "go_binaries", "size"}
    assert any(r.skipped for r in report.results if r.check == "root_image")
    broken = b.add(b.busybox("ltsc2022", vcruntime=False, link_prefix="Files/"),
                   runtime={"Labels": {"image_version": "1"}})
    assert run_checks(broken, expectations=exp).ids() == {"W6", "LINKS", "FILE-EXISTS",
                                                          "META-LABEL", "FILE-SYMLINK"}


@pytest.mark.parametrize(("text", "line", "words"), [
    ('schemaVersion: "1.0.0"\nwindows:\n  fileExistance: []\n', 3, "unknown key 'fileExistance'"),
    ('schemaVersion: "1.0.0"\nall:\n  fileExistence:\n    - {path: /a, shouldexist: false}\n',
     4, "unknown key 'shouldexist'"),
    ('schemaVersion: "2.0.0"\n', 1, "unsupported schemaVersion"),
    ("all: {}\n", 1, "schemaVersion is required"),
    ('schemaVersion: "1.0.0"\nmacos: {}\n', 2, "unknown key 'macos'"),
    ('schemaVersion: "1.0.0"\nall:\n  fileExistence:\n    - {path: a}\n', 4, "absolute"),
    ('schemaVersion: "1.0.0"\nall:\n  fileExistence:\n    - {path: /a, shouldExist: maybe}\n',
     4, "must be true or false"),
    ('schemaVersion: "1.0.0"\nall:\n  sizeLimits: {addedBytes: lots}\n', 3, "size 'lots'"),
    ('schemaVersion: "1.0.0"\nall:\n  metadata: {cmd: x}\n', 3, "must be a list"),
    ('schemaVersion: "1.0.0"\nall:\n  rootImage: servercore\n', 3, "rootImage"),
    ('schemaVersion: "1.0.0"\nall:\n  metadata: {labels: {v: "$(VERSION)"}}\n', 3, "VERSION"),
    ('schemaVersion: "1.0.0"\nall: [\n', 3, "not valid YAML"),
])
def test_errors_name_file_and_line(text, line, words):
    with pytest.raises(ExpectationsError) as exc:
        parse_expectations(text, source="images/x/expectations.yaml")
    assert exc.value.path == "images/x/expectations.yaml"
    assert exc.value.line == line, str(exc.value)
    assert words in str(exc.value)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("path", sorted(IMAGES.glob(f"*/{EXPECTATIONS_FILE}")),
                         ids=lambda p: p.parent.name)
def test_every_catalog_expectations_file_loads(path):
    exp = load_expectations(path)
    version = (path.parent / "VERSION").read_text().strip()
    labels = {k: v for os_name in ("linux", "windows")
              for k, v in (exp.for_os(os_name).metadata or MetadataCheck()).labels.items()}
    assert labels.get("image_version") == version


def test_every_catalog_image_has_expectations():
    dirs = {p.parent.name for p in IMAGES.glob("*/VERSION")}
    assert dirs == {p.parent.name for p in IMAGES.glob(f"*/{EXPECTATIONS_FILE}")}
