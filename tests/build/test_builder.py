"""The builder against a real embedded registry with the hermetic stand-ins (issue 4)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from e2e_images.build.builder import build_target
from e2e_images.errors import BuildError, DockerfileError
from e2e_images.oci.fs import LayerFS
from e2e_images.oci.image import Image
from e2e_images.oci.models import Index
from e2e_images.pipeline import build_plan
from e2e_images.plan import Filters
from e2e_images.session import open_session
from e2e_images.workspace import load_plan

PROJECT = Path(__file__).resolve().parents[2]
IMAGES = PROJECT / "images"
EPOCH = 1_700_000_000
ELF_MACHINE = {"amd64": 62, "arm": 40, "arm64": 183, "ppc64le": 21, "s390x": 22}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with open_session(registry=None, cache=cache, epoch=EPOCH) as s:
        yield s


def plan_for(session, *what, platforms=(), images=IMAGES):
    return load_plan(images, session.registry, Filters(what=what, platforms=platforms))


def pushed_image(session, target) -> Image:
    return session.env.pool.image(target.tag)


def elf_machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF"
    return int.from_bytes(data[18:20], "big" if data[5] == 2 else "little")


def raw_members(image: Image, layer_index: int) -> list[tarfile.TarInfo]:
    layer = image.layers()[layer_index]
    with tarfile.open(fileobj=io.BytesIO(layer.read()), mode="r:*") as tar:
        return tar.getmembers()


def test_windows_busybox_three_releases_one_list(session):
    """A linux/amd64 prep stage that RUNs `ln -s`, a Windows stage copying from it and from
    the servercore cache: built for 1809, ltsc2022, ltsc2025, listed with three os.versions."""
    plan = plan_for(session, "windows-servercore-cache", "busybox",
                    platforms=("windows/amd64", "linux/amd64/1809", "linux/amd64/ltsc2022",
                               "linux/amd64/ltsc2025"))
    report = build_plan(plan, session.env, jobs=2)
    assert report.ok, [(t.target.id, t.error) for t in report.targets if t.error]
    busybox = next(i for i in report.images if i.image.spec.dir == "busybox")
    index = busybox.published.index
    entries = [d.platform for d in index.manifests]
    assert [p.os for p in entries] == ["windows"] * 3
    versions = [p.os_version for p in entries]
    assert len(set(versions)) == 3
    assert [v.rsplit(".", 1)[0] for v in versions] == ["10.0.17763", "10.0.20348", "10.0.26100"]
    client = session.env.pool.client(session.registry.split("/")[0])
    for entry in index.manifests:
        child = Image.load(client.get_manifest("e2e-test-images/busybox", entry.digest),
                           client.repository("e2e-test-images/busybox"))
        assert child.config.platform.os_version == entry.platform.os_version
        assert child.config.env["PATH"] == "C:\\bin;C:\\curl;C:\\Windows\\System32;C:\\Windows;"


def test_windows_layers_keep_symlink_targets_unprefixed(session):
    target = next(t for t in plan_for(session, "busybox").targets()
                  if t.platform.key == "windows/amd64/ltsc2022")
    build_target(next(t for t in plan_for(session, "windows-servercore-cache").targets()
                      if t.platform.release == "ltsc2022"), session.env)
    build_target(target, session.env)
    image = pushed_image(session, target)
    base_layers = len(session.env.pool.image(
        target.base_image, platform=image.platform).manifest.layers)
    added = range(base_layers, len(image.layers()))
    assert len(added) > 0
    seen_symlink = False
    for i in added:
        members = raw_members(image, i)
        names = [m.name for m in members]
        assert names[:2] == ["Files", "Hives"], names[:3]
        assert all(n in ("Files", "Hives") or n.startswith("Files/") for n in names)
        for m in members:
            assert "MSWINDOWS.fileattr" in m.pax_headers
            if m.name == "Files/bin/sh.exe":
                assert m.issym() and m.linkname == "busybox.exe"
                seen_symlink = True
    assert seen_symlink
    view = LayerFS.open(image)
    assert view.exists("/Windows/System32/nltest.exe")  # from the servercore cache
    assert view.read("/bin/busybox.exe").startswith(b"MZ")


def test_linux_run_stage_under_qemu(session):
    """agnhost's Linux Dockerfile RUNs `ln -s` (buildah), for arm64 and s390x under qemu."""
    plan = plan_for(session, "busybox", "agnhost", platforms=("linux/arm64", "linux/s390x"))
    report = build_plan(plan, session.env, jobs=2)
    assert report.ok, [(t.target.id, t.error) for t in report.targets if t.error]
    for target in plan.targets():
        if target.image_dir != "agnhost":
            continue
        view = LayerFS.open(pushed_image(session, target))
        assert elf_machine(view.read("/agnhost")) == ELF_MACHINE[target.platform.arch]
        link = view.lookup("/agnhost-2")
        assert link is not None and link.linkname == "agnhost"
        assert b"2.52" in view.read("/agnhost")


def test_two_clean_builds_give_identical_digests(tmp_path):
    what = ("windows-servercore-cache", "busybox", "agnhost", "kitten")
    platforms = ("linux/amd64", "linux/arm", "windows/amd64/1809", "linux/amd64/1809")
    digests = []
    for run in ("one", "two"):
        with open_session(registry=None, cache=tmp_path / run, epoch=EPOCH) as s:
            plan = load_plan(IMAGES, s.registry, Filters(what=what, platforms=platforms))
            report = build_plan(plan, s.env, jobs=2)
            assert report.ok, [(t.target.id, t.error) for t in report.targets if t.error]
            digests.append({t.target.id: t.build.digest for t in report.targets} |
                           {i.image.spec.dir: i.published.index.digest
                            for i in report.images if i.published})
    assert digests[0] == digests[1]
    with_lists = [i for i in plan.images if i.has_list]
    assert len(digests[0]) == len(plan.targets()) + len(with_lists) == 12 + 3


def test_noop_rebuild_pushes_nothing(session):
    plan = plan_for(session, "busybox", platforms=("linux/amd64", "linux/s390x"))
    first = build_plan(plan, session.env)
    second = build_plan(plan, session.env)
    assert first.ok and second.ok
    assert [t.build.pushed for t in second.targets] == [False, False]
    assert [t.build.bytes_pushed for t in second.targets] == [0, 0]
    assert second.images[0].published.pushed is False


def nanoserver_target(session, tmp_path, dockerfile: str):
    """The one target of a one-image catalog on nanoserver ltsc2022, with this Dockerfile."""
    d = tmp_path / "images" / "one"
    d.mkdir(parents=True)
    (d / "VERSION").write_text("1.0\n")
    (d / "BASEIMAGE").write_text(
        "windows/amd64/ltsc2022=mcr.microsoft.com/windows/nanoserver:ltsc2022\n")
    (d / "Dockerfile").write_text(dockerfile)
    return plan_for(session, images=tmp_path / "images").targets()[0]


def test_run_in_a_windows_stage_names_the_line(session, tmp_path):
    with pytest.raises(DockerfileError) as info:  # at plan time, before any build
        nanoserver_target(session, tmp_path, "ARG BASEIMAGE\nFROM $BASEIMAGE\n\nRUN mkdir C:\\x\n")
    err = info.value
    assert (err.line, Path(err.path).name) == (4, "Dockerfile")
    assert "--platform=linux" in (err.hint or "") and "RUN" in err.message


def test_windows_workdir_and_base_path(session, tmp_path):
    d = tmp_path / "images" / "wd"
    d.mkdir(parents=True)
    (d / "VERSION").write_text("1.0\n")
    (d / "BASEIMAGE").write_text(
        "windows/amd64/1809=mcr.microsoft.com/windows/nanoserver:1809\n")
    (d / "f.txt").write_text("x")
    (d / "Dockerfile").write_text("ARG BASEIMAGE\nFROM $BASEIMAGE\nWORKDIR /app\n"
                                  "COPY f.txt .\nCMD [\"f.txt\"]\n")
    target = plan_for(session, images=tmp_path / "images").targets()[0]
    build_target(target, session.env)
    image = pushed_image(session, target)
    base = session.env.pool.image(target.base_image, platform=image.platform)
    assert image.config.runtime["WorkingDir"] == "/app"
    assert image.config.env["PATH"] == base.config.env["PATH"]  # the base's Windows PATH
    assert not image.config.env["PATH"].startswith("/usr")
    assert image.config.platform.os_version == base.config.platform.os_version
    assert image.manifest.layers[: len(base.manifest.layers)] == base.manifest.layers
    assert LayerFS.open(image).read("/app/f.txt") == b"x"


def test_list_index_media_type_and_children_single(session):
    plan = plan_for(session, "windows-nanoserver")
    report = build_plan(plan, session.env)
    index = report.images[0].published.index
    assert isinstance(index, Index) and index.media_type.endswith("index.v1+json")
    client = session.env.pool.client(session.registry.split("/")[0])
    for entry in index.manifests:
        assert client.get_manifest("e2e-test-images/windows-nanoserver",
                                   entry.digest).media_type.endswith("manifest.v1+json")


def test_add_checksum_mismatch_names_the_line(session, tmp_path):
    url = "https://github.com/kubernetes-sigs/windows-testing/raw/master/images/busybox/busybox.exe"
    target = nanoserver_target(session, tmp_path, f"ARG BASEIMAGE\nFROM $BASEIMAGE\n\n"
                               f"ADD --checksum=sha256:{'0' * 64} {url} /bin/bb.exe\n")
    with pytest.raises(BuildError, match="checksum mismatch") as info:
        build_target(target, session.env)
    assert (info.value.line, Path(info.value.path or "").name) == (4, "Dockerfile")
