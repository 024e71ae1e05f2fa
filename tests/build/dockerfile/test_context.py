"""COPY/ADD source resolution over real build contexts (tmp_path) and their listings."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from pathlib import Path

import pytest

from e2e_images.build.dockerfile import (
    Add,
    Copy,
    CopyItem,
    Location,
    archive_kind,
    list_context,
    resolve_sources,
)
from e2e_images.errors import DockerfileError

LOC = Location("Dockerfile", 7, 7, "COPY ...")


def copy(*args: str) -> Copy:
    return Copy(LOC, tuple(args[:-1]), args[-1])


def add(*args: str, checksum: str | None = None) -> Add:
    return Add(LOC, tuple(args[:-1]), args[-1], checksum=checksum)


@pytest.fixture
def ctx(tmp_path: Path):
    files = {"app.go": "package main", "README.md": "# r", "cfg/a.yaml": "a", "cfg/b.yaml": "b",
             "cfg/sub/c.yaml": "c", "html/index.html": "<p>", "html/img/logo.png": "png",
             "secret.key": "k"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "empty").mkdir()
    (tmp_path / "link-to-cfg").symlink_to("cfg")
    (tmp_path / "escape-link").symlink_to("../outside")
    (tmp_path / ".dockerignore").write_text("*.key\n")
    return list_context(tmp_path)


def plan(ctx, cmd, workdir="/"):
    return resolve_sources(cmd, ctx.listing, workdir=workdir, read_head=ctx.read_head)


def test_file_to_file_and_into_directory(ctx):
    assert plan(ctx, copy("app.go", "/bin/app")).items == (
        CopyItem("app.go", "/bin/app", "file"),)
    assert plan(ctx, copy("app.go", "/bin/")).items == (
        CopyItem("app.go", "/bin/app.go", "file"),)
    assert plan(ctx, copy("/app.go", "/x/.")).items == (  # absolute = context-relative
        CopyItem("app.go", "/x/app.go", "file"),)


def test_relative_destination_uses_workdir(ctx):
    assert plan(ctx, copy("app.go", "bin/"), workdir="/srv").items == (
        CopyItem("app.go", "/srv/bin/app.go", "file"),)
    assert plan(ctx, copy("app.go", "."), workdir="/srv").items == (
        CopyItem("app.go", "/srv/app.go", "file"),)


def test_directory_copies_its_contents(ctx):
    items = plan(ctx, copy("html/", "/")).items
    assert items == (
        CopyItem("html", "/", "dir"),
        CopyItem("html/img", "/img", "dir"),
        CopyItem("html/img/logo.png", "/img/logo.png", "file"),
        CopyItem("html/index.html", "/index.html", "file"),
    )
    # Without a trailing slash on the destination the directory's contents still go inside.
    assert plan(ctx, copy("cfg", "/etc/app")).items[0] == CopyItem("cfg", "/etc/app", "dir")
    assert plan(ctx, copy("empty", "/e")).items == (CopyItem("empty", "/e", "dir"),)


def test_whole_context_skips_ignored_files(ctx):
    sources = {i.source for i in plan(ctx, copy(".", "/ctx/")).items}
    assert "app.go" in sources and "cfg/sub/c.yaml" in sources
    assert "secret.key" not in sources


def test_wildcards(ctx):
    items = plan(ctx, copy("cfg/*.yaml", "/etc/")).items
    assert items == (CopyItem("cfg/a.yaml", "/etc/a.yaml", "file"),
                     CopyItem("cfg/b.yaml", "/etc/b.yaml", "file"))
    assert [i.dest for i in plan(ctx, copy("cfg/[ab].yaml", "/e/")).items] == [
        "/e/a.yaml", "/e/b.yaml"]
    assert [i.dest for i in plan(ctx, copy("app.g?", "/e/")).items] == ["/e/app.go"]
    # A wildcard that matches one file may name the destination file.
    assert plan(ctx, copy("READ*", "/doc.md")).items == (
        CopyItem("README.md", "/doc.md", "file"),)


def test_many_sources_need_a_directory_destination(ctx):
    for cmd in (copy("app.go", "README.md", "/dest"), copy("cfg/*.yaml", "/dest")):
        with pytest.raises(DockerfileError, match="must be a directory ending in /") as info:
            plan(ctx, cmd)
        assert info.value.line == 7
    assert len(plan(ctx, copy("app.go", "README.md", "/dest/")).items) == 2


def test_symlink_source_is_followed_inside_the_context(ctx):
    items = plan(ctx, copy("link-to-cfg", "/etc/cfg/")).items
    assert items[0] == CopyItem("cfg", "/etc/cfg", "dir")
    assert CopyItem("cfg/sub/c.yaml", "/etc/cfg/sub/c.yaml", "file") in items
    with pytest.raises(DockerfileError, match="outside the build context"):
        plan(ctx, copy("escape-link", "/x"))


@pytest.mark.parametrize("source", ["../etc/passwd", "cfg/../../x", "/../x"])
def test_sources_cannot_leave_the_context(ctx, source):
    with pytest.raises(DockerfileError, match="outside the build context") as info:
        plan(ctx, copy(source, "/x"))
    assert (info.value.path, info.value.line) == ("Dockerfile", 7)


def test_stage_filesystems_clamp_dotdot_at_the_root(ctx):
    items = resolve_sources(copy("../app.go", "/x"), ctx.listing, clamp=True).items
    assert items == (CopyItem("app.go", "/x", "file"),)


def test_missing_and_ignored_sources_name_the_line(ctx):
    with pytest.raises(DockerfileError, match="not found") as info:
        plan(ctx, copy("nope.txt", "/x"))
    assert info.value.line == 7 and info.value.hint is None
    with pytest.raises(DockerfileError, match="not found") as info:
        plan(ctx, copy("secret.key", "/x"))
    assert "dockerignore" in info.value.hint
    with pytest.raises(DockerfileError, match="no source files"):
        plan(ctx, copy("*.rs", "/x/"))


def _tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    return buf.getvalue()


def test_archive_kind_by_content():
    tar = _tar_bytes()
    assert archive_kind(tar) == "tar"
    assert archive_kind(gzip.compress(tar)) == "gzip"
    assert archive_kind(bz2.compress(tar)) == "bzip2"
    assert archive_kind(lzma.compress(tar, format=lzma.FORMAT_XZ)) == "xz"
    # Compressed, but not a tar inside: copied as it is.
    assert archive_kind(gzip.compress(b"just text " * 100)) is None
    assert archive_kind(b"plain text") is None
    assert archive_kind(bytes(1024)) is None
    # A truncated head still decides (the caller reads only the first 64 KiB).
    big = gzip.compress(tar + bytes(1 << 20))
    assert archive_kind(big[:100]) == "gzip"


def test_add_extracts_local_archives_by_content(tmp_path: Path):
    tar = _tar_bytes()
    (tmp_path / "payload.bin").write_bytes(gzip.compress(tar))  # name says nothing
    (tmp_path / "data.tar.gz").write_bytes(gzip.compress(b"not a tar"))
    (tmp_path / "plain.tar").write_bytes(tar)
    ctx = list_context(tmp_path)
    assert plan(ctx, add("payload.bin", "/opt")).items == (
        CopyItem("payload.bin", "/opt", "file", "gzip"),)
    assert plan(ctx, add("data.tar.gz", "/opt/")).items == (
        CopyItem("data.tar.gz", "/opt/data.tar.gz", "file"),)
    assert plan(ctx, add("plain.tar", "/x/")).items[0].archive == "tar"
    # COPY never extracts.
    assert plan(ctx, copy("plain.tar", "/x/")).items[0].archive is None


def test_add_urls_are_classified_not_fetched(ctx):
    digest = "sha256:" + "a" * 64
    result = plan(ctx, add("https://example.com/dl/tool.tar.gz?x=1", "/opt/", checksum=digest))
    assert result.items == ()
    assert [(r.url, r.dest, r.checksum) for r in result.remote] == [
        ("https://example.com/dl/tool.tar.gz?x=1", "/opt/tool.tar.gz", digest)]
    result = plan(ctx, add("http://example.com/x", "app.go", "/d/"))
    assert [r.dest for r in result.remote] == ["/d/x"]
    assert result.items == (CopyItem("app.go", "/d/app.go", "file"),)
    assert plan(ctx, add("https://example.com/x", "/file")).remote[0].dest == "/file"
    with pytest.raises(DockerfileError, match="file name"):
        plan(ctx, add("https://example.com/", "/d/"))
    with pytest.raises(DockerfileError, match="git sources"):
        plan(ctx, add("git@github.com:moby/buildkit.git", "/src"))
    with pytest.raises(DockerfileError, match="--checksum only"):
        plan(ctx, add("app.go", "/x", checksum=digest))


@pytest.mark.parametrize("checksum", ["sha256:abc", "md5:" + "a" * 32, "sha256:" + "G" * 64])
def test_add_checksum_must_be_a_digest(ctx, checksum):
    with pytest.raises(DockerfileError, match="is not a digest"):
        plan(ctx, add("https://example.com/x", "/x", checksum=checksum))
