"""`e2e-images verify` against a real registry: exit 0 on a good list (its warnings printed),
1 naming the check on each broken one; warnings fail only with --fail-on-warnings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from verify_builders import (
    APPLETS,
    LINUX_PATH,
    Builder,
    Raw,
    buildkit_tar,
    busybox_shape,
    entry,
    push_index,
    raw_tar,
    with_windows_runtime,
)

from e2e_images.audit import BASE_NAME_ANNOTATION
from e2e_images.cli import main
from e2e_images.layers.winentries import WinEntry
from e2e_images.oci import media_types as mt
from e2e_images.oci.models import Descriptor, ImagePlatform
from e2e_images.oci.mutate import set_annotations

RELEASES = ("1809", "ltsc2022", "ltsc2025")
EXPECTATIONS = """\
schemaVersion: "1.0.0"
windows:
  rootImage: nanoserver
  fileExistence:
    - {path: /Windows/System32/vcruntime140.dll}
  symlinks:
    - {directory: /bin, resolvesTo: /bin/busybox.exe, minCount: 4}
  goBinaries:
    - {path: /bin/hostname.exe, version: "$(VERSION)"}
"""


@pytest.fixture(scope="module")
def world(registry, client, tmp_path_factory):
    """Stand-in bases under <host>/mcr.microsoft.com, a catalog dir, a good list and children."""
    b = Builder()
    host = registry.host
    for release in RELEASES:
        for flavor in ("nanoserver", "servercore"):
            b.push(client, f"mcr.microsoft.com/windows/{flavor}", b.base(release, flavor),
                   tag=release)
    root = tmp_path_factory.mktemp("catalog")
    image_dir = root / "images" / "busybox"
    image_dir.mkdir(parents=True)
    (image_dir / "VERSION").write_text("1.36.1-1\n")
    (image_dir / "Dockerfile").write_text("FROM scratch\n")
    (image_dir / "Dockerfile_windows").write_text("ARG BASEIMAGE\nFROM $BASEIMAGE\n")
    (image_dir / "BASEIMAGE").write_text("linux/amd64=REGISTRY/linux-base:1\n" + "".join(
        f"windows/amd64/{r}=mcr.microsoft.com/windows/nanoserver:{r}\n" for r in RELEASES))
    expect = image_dir / "expectations.yaml"
    expect.write_text(EXPECTATIONS)
    mirrors = root / "mirrors.yaml"
    mirrors.write_text(f"mcr.microsoft.com: {host}/mcr.microsoft.com\n")
    repo = "e2e/busybox"
    b.push(client, "e2e/linux-base", b.scratch(ImagePlatform("linux", "amd64")), tag="1")
    linux = b.push(client, repo, b.scratch(ImagePlatform("linux", "amd64")),
                   tag="1.36.1-1-linux-amd64")
    windows = [b.push(client, repo, b.busybox(r), tag=f"1.36.1-1-windows-amd64-{r}")
               for r in RELEASES]
    push_index(client, repo, [linux, *windows], "1.36.1-1")
    return {"b": b, "host": host, "repo": repo, "expect": expect, "mirrors": mirrors,
            "children": [linux, *windows]}


def _run(world, *refs: str, extra: tuple[str, ...] = ()) -> int:
    args = ["verify", *(f"{world['host']}/{world['repo']}:{r}" for r in refs),
            "--expect", str(world["expect"]), "--mirrors", str(world["mirrors"]), *extra]
    return main(args)


def test_a_good_list_exits_0_reporting_what_each_containerd_pulls(world, capsys):
    ref = f"{world['host']}/{world['repo']}:1.36.1-1"
    assert _run(world, "1.36.1-1") == 0
    out, err = capsys.readouterr()
    assert "ok " in err and "0 errors, 1 warnings" in err
    assert "skipped" not in err  # the nanoserver root and the bases were resolved
    findings = [line for line in out.splitlines() if ": info: " not in line]
    # BASEIMAGE order 1809, ltsc2022, ltsc2025: a 2025 node on containerd 1.7.20-2.1 pulls
    # the ltsc2022 entry. It runs there, so it is a warning naming the order that fixes it.
    assert findings == [
        f"{ref}: LIST-CONTAINERD windows/amd64:10.0.20348.2966 containerd 1.7.20-2.1 "
        "node.kubernetes.io/windows-build=10.0.26100: warning: pulls manifests[2] built for "
        "10.0.20348, not manifests[3] built for 10.0.26100; the BASEIMAGE order "
        "windows/amd64/ltsc2025, windows/amd64/ltsc2022, windows/amd64/1809 (newest release "
        "first) fixes it"]
    assert (f"{ref}: info: containerd 1.7.20-2.1 on node.kubernetes.io/windows-build=10.0.26100"
            " (amd64) pulls manifests[2] windows/amd64:10.0.20348.2966") in out
    assert (f"{ref}: info: containerd 1.6 on node.kubernetes.io/windows-build=10.0.22621 "
            "(amd64) pulls nothing (information: not a gating family)") in out


def test_warnings_fail_only_when_asked(world, capsys):
    assert _run(world, "1.36.1-1", extra=("--fail-on-warnings",)) == 1
    assert "FAIL " in capsys.readouterr().err
    assert _run(world, "1.36.1-1", extra=("--containerd-families", "2.2+",
                                          "--fail-on-warnings")) == 0
    assert _run(world, "1.36.1-1", extra=("--containerd-families", "all")) == 1
    out = capsys.readouterr().out
    assert "LIST-CONTAINERD windows/amd64 containerd 1.6 node.kubernetes.io/windows-build=" \
        "10.0.22621: pulls nothing, though manifests[2] (10.0.20348) runs there" in out


def test_json_report(world, capsys):
    assert _run(world, "1.36.1-1", extra=("--json", "--fast")) == 0
    reports = json.loads(capsys.readouterr().out)
    checks = {r["check"] for r in reports[0]["results"]}
    assert {"manifest_list", "windows_layer", "root_image", "symlinks"} <= checks


def _broken_list(world, client, tag: str, entries) -> str:
    push_index(client, world["repo"], entries, tag)
    return tag


def _swap(world, client, release: str, image, tag: str) -> str:
    """The good list with one Windows child replaced by `image`."""
    b = world["b"]
    bad = b.push(client, world["repo"], image)
    entries = [bad if d.platform.os_version.startswith(
        f"10.0.{ {'1809': 17763, 'ltsc2022': 20348, 'ltsc2025': 26100}[release]}.") else d
        for d in world["children"]]
    return _broken_list(world, client, tag, entries)


CASES = {
    "linux-path": ("W13", lambda b: b.busybox("ltsc2022", path=LINUX_PATH)),
    "buildkit-symlink": ("W6", lambda b: b.busybox("ltsc2022", link_prefix="Files/")),
    "no-vcruntime": ("FILE-EXISTS", lambda b: b.busybox("ltsc2022", vcruntime=False)),
    "servercore": ("BASE-ROOT", lambda b: b.busybox("ltsc2022", flavor="servercore")),
    "whiteout-outside-files": ("W4", lambda b: b.add(b.busybox("ltsc2022"), raw=raw_tar(
        [Raw("Hives/.wh.Sam_Delta")]))),
    "hardlink-to-nothing": ("W5", lambda b: b.add(b.busybox("ltsc2022"), raw=raw_tar(
        [Raw("Files/bin", "dir"), Raw("Files/bin/sh2.exe", "hardlink",
                                      link="Files/bin/gone.exe")]))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_broken_child_exits_1_naming_the_check(world, client, capsys, case):
    rule, make = CASES[case]
    tag = _swap(world, client, "ltsc2022", make(world["b"]), f"broken-{case}")
    assert _run(world, tag) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines and all(line.startswith(f"{world['host']}/{world['repo']}:{tag}")
                         for line in lines)
    hits = [line for line in lines if f": {rule} windows/amd64:10.0.20348.2966 " in line]
    assert hits and ": warning: " not in hits[0], out


def test_an_entry_outside_files_is_a_warning(world, client, capsys):
    """The node does not import it; unless an expectation needs the file, nothing breaks."""
    image = world["b"].add(world["b"].busybox("ltsc2022"), raw=raw_tar(
        [Raw("bin", "dir"), Raw("bin/stray.txt", data=b"x")]))
    tag = _swap(world, client, "ltsc2022", image, "outside-files")
    assert _run(world, tag, extra=("--containerd-families", "2.2+")) == 0
    out = capsys.readouterr().out
    assert ": W3 windows/amd64:10.0.20348.2966 bin/stray.txt: warning: " in out


def test_list_level_breakage_exits_1_naming_the_check(world, client, capsys):
    linux, w1809, w2022, w2025 = world["children"]
    no_version = [linux, *(entry(d, os_version="") for d in (w1809, w2022, w2025))]
    release_token = [linux, entry(w1809, os_version="1809"), w2022, w2025]
    missing = [linux, w1809, w2025]
    nested = push_index(client, world["repo"], [w2022], "nested-index")
    as_index = [linux, w1809, Descriptor(mt.OCI_INDEX, nested.digest, nested.size,
                                         platform=w2022.platform), w2025]
    for tag, entries, rule, subject in (
            ("no-os-version", no_version, "LIST-OSVERSION", "manifests[1].platform.os.version"),
            ("token-os-version", release_token, "LIST-OSVERSION",
             "manifests[1].platform.os.version"),
            ("missing-platform", missing, "LIST-MISSING", "windows/amd64/ltsc2022 manifests"),
            ("index-child", as_index, "LIST-CHILD", "manifests[2]")):
        _broken_list(world, client, tag, entries)
        assert _run(world, tag) == 1, tag
        out = capsys.readouterr().out
        assert f": {rule} " in out and f" {subject}: " in out, out


def test_the_installed_command_runs(world):
    exe = Path(sys.executable).with_name("e2e-images")
    ref = f"{world['host']}/{world['repo']}:1.36.1-1-windows-amd64-1809"
    good = subprocess.run([str(exe), "verify", ref, "--expect", str(world["expect"]),
                           "--mirrors", str(world["mirrors"])], capture_output=True, text=True,
                          timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = subprocess.run([str(exe), "verify", ref, "--platform", "windows/amd64/ltsc2022"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 0  # a single image: --platform only concerns lists
    missing = subprocess.run([str(exe), "verify", f"{world['host']}/{world['repo']}:nope"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "manifest unknown" in missing.stderr.lower()


def test_per_platform_tag_that_is_an_index(world, client, capsys):
    linux, _, w2022, _ = world["children"]
    tag = "1.36.1-1-windows-amd64-ltsc2022"  # a per-platform tag of the catalog's BASEIMAGE
    push_index(client, world["repo"], [w2022, linux], tag)
    try:
        assert _run(world, tag) == 1
        out = capsys.readouterr().out
        assert f": TAG-INDEX windows/amd64/ltsc2022 {world['host']}/{world['repo']}:{tag}: " \
            in out, out
        assert len(out.splitlines()) == 1  # the child itself still passes its checks
    finally:  # the tag is the good list's child too: point it back at the image
        m = world["b"].store.open_blob(w2022.digest).read()
        client.put_manifest(world["repo"], tag, m, w2022.media_type)


# -- a bare reference: BuildKit's shape on a nanoserver stand-in ---------------------------


def _bare(world, client, tag: str, tar: bytes, *extra: str) -> int:
    b = world["b"]
    image = with_windows_runtime(b, b.add(b.base("ltsc2022"), raw=tar))
    b.push(client, world["repo"], image, tag=tag)
    return main(["verify", f"{world['host']}/{world['repo']}:{tag}", "--mirrors",
                 str(world["mirrors"]), *extra])


def test_buildkit_busybox_with_the_workaround_passes_with_warnings(world, client, capsys):
    assert _bare(world, client, "bk-busybox", buildkit_tar(busybox_shape())) == 0
    out, err = capsys.readouterr()
    assert "ok " in err and " 0 errors, " in err
    lines = out.splitlines()
    assert lines and all(": warning: " in line for line in lines), out
    rules = {line.split(": ", 2)[1].split(" ")[0] for line in lines}
    assert rules == {"W6", "W7", "W9"}
    assert "W3" not in out  # the nanoserver layer (UtilityVM/) is the base, not added
    assert _bare(world, client, "bk-busybox", buildkit_tar(busybox_shape()),
                 "--fail-on-warnings") == 1


def test_buildkit_busybox_without_the_workaround_names_the_dangling_symlinks(world, client,
                                                                             capsys):
    assert _bare(world, client, "bk-broken", buildkit_tar(busybox_shape(workaround=False))) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if ": warning: " not in line]
    assert {line.split(" ")[3].rstrip(":") for line in errors} == {
        f"Files/bin/{a}.exe" for a in APPLETS}
    assert all(" W6 " in line and "dangling symlink" in line for line in errors)


def test_whiteout_outside_files_and_hardlink_to_nothing_exit_1(world, client, capsys):
    tar = raw_tar([Raw(".wh.Windows"), Raw("Files/bin", "dir"),
                   Raw("Files/bin/sh.exe", "hardlink", link="Files/bin/gone.exe")])
    assert _bare(world, client, "bad-links", tar) == 1
    out = capsys.readouterr().out
    errors = {(line.split(" ")[1], line.split(" ")[3].rstrip(":"))
              for line in out.splitlines() if ": warning: " not in line}
    assert errors == {("W4", ".wh.Windows"), ("W5", "Files/bin/sh.exe")}


def test_a_bare_reference_takes_its_base_from_its_annotations(world, client, capsys):
    """Without a plan, `org.opencontainers.image.base.name` says which layers are the base's:
    its stray entry is not judged as this image's. Without the annotation, only the
    nanoserver root is recognised as base, and the stray entry is an added one (W3)."""
    b, repo, host = world["b"], world["repo"], world["host"]
    base = b.add(b.base("ltsc2022"), raw=raw_tar([Raw("stray.txt", data=b"x")]))
    b.push(client, repo, base, tag="annotated-base")
    child = with_windows_runtime(b, b.add(base, entries=[WinEntry.file("x.txt", b"x")]))
    b.push(client, repo, child, tag="plain-child")
    annotated = set_annotations(child.manifest,
                                {BASE_NAME_ANNOTATION: f"{host}/{repo}:annotated-base"})
    client.put_manifest(repo, "annotated-child", annotated.raw, annotated.media_type)
    mirrors = ("--mirrors", str(world["mirrors"]))
    assert main(["verify", f"{host}/{repo}:plain-child", *mirrors]) == 0
    assert ": W3 windows/amd64:10.0.20348.2966 stray.txt: warning: " in capsys.readouterr().out
    assert main(["verify", f"{host}/{repo}:annotated-child", *mirrors]) == 0
    assert capsys.readouterr().out == ""
