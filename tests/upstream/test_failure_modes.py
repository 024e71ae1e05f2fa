"""Each way an upstream tree can fail says what failed, where, and what to do (issue 10).

Every test breaks a private copy of tests/fixtures/upstream. Plan-time failures need no
registry; build-time ones share one hermetic session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_images.build.gobuild import compile_payloads
from e2e_images.catalog import load_catalog
from e2e_images.errors import BuildError, DockerfileError, PlanError
from e2e_images.pipeline import build_plan
from e2e_images.plan import Filters
from e2e_images.platforms import parse_platform
from e2e_images.session import open_session
from e2e_images.workspace import load_plan

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "upstream"
REGISTRY = "example.com/e2e"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def images(tmp_path) -> Path:
    """A private copy of the fixture repository; returns its test/images."""
    shutil.copytree(FIXTURE, tmp_path / "repo")
    return tmp_path / "repo" / "test" / "images"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "e2e_images.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=dict(os.environ), check=False)


# --- plan-time Dockerfile checks -------------------------------------------------------------


def plan_error(images: Path, dockerfile: Path, text: str, match: str) -> DockerfileError:
    """Write `text` to `dockerfile`; planning must fail with `match`, naming that file."""
    write(dockerfile, text)
    with pytest.raises(DockerfileError, match=match) as info:
        load_plan(images, REGISTRY)
    assert info.value.path == str(dockerfile)
    return info.value


def test_cross_build_line_in_dockerfile_windows_is_an_unknown_instruction(images):
    """Only `Dockerfile` gets the CROSS_BUILD_ treatment, as in image-util.sh."""
    path = images / "win-prep" / "Dockerfile_windows"
    error = plan_error(images, path, "ARG BASEIMAGE\nFROM $BASEIMAGE\n"
                       "CROSS_BUILD_COPY qemu-QEMUARCH-static /\n", "unknown instruction")
    assert error.line == 3
    proc = cli("plan", "--images-dir", str(images))
    assert proc.returncode == 2
    assert f"{path}:3" in proc.stderr and "unknown instruction" in proc.stderr


def test_cross_build_lines_render_per_arch(images):
    """amd64: gone (line numbers kept); arm64: QEMUARCH named and the prefix stripped."""
    from e2e_images.catalog import cross_build_qemu, render_dockerfile

    text = (images / "crossbuild" / "Dockerfile").read_text()
    amd64, arm64 = parse_platform("linux/amd64"), parse_platform("linux/arm64")
    assert "CROSS_BUILD" not in render_dockerfile(text, amd64)
    assert "qemu" not in render_dockerfile(text, amd64)
    assert render_dockerfile(text, amd64).count("\n") == text.count("\n")
    assert "COPY qemu-aarch64-static /usr/bin/" in render_dockerfile(text, arm64)
    assert cross_build_qemu(text, arm64) == "qemu-aarch64-static"
    assert cross_build_qemu(text, amd64) is None
    assert cross_build_qemu(text, arm64, "Dockerfile_windows") is None


def test_run_in_a_windows_stage_fails_at_plan_time(images):
    error = plan_error(images, images / "win-prep" / "Dockerfile_windows",
                       "ARG BASEIMAGE\nFROM $BASEIMAGE\nRUN cmd /c echo hi\n",
                       "RUN in a Windows stage")
    assert error.line == 3 and "legacy" in (error.hint or "")
    load_plan(images, REGISTRY, backend="legacy")  # Windows daemons run it


def test_copy_of_a_file_nobody_makes_fails_at_plan_time(images):
    error = plan_error(images, images / "greeter" / "Dockerfile",
                       "ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY greeter /greeter\n"
                       "COPY greeter.conf /etc/\n",
                       r"'greeter\.conf' not found in the build context")
    assert error.line == 4


def test_plan_marks_images_that_need_make(images):
    plan = load_plan(images, REGISTRY)
    marked = {i.spec.dir: i.to_json(plan.root)["needs_make"] for i in plan.images}
    assert marked == {"crossbuild": False, "greeter": False, "pets/zookeeper-installer": False,
                      "sample-data": True, "win-prep": False}
    proc = cli("plan", "--images-dir", str(images))
    assert proc.returncode == 0, proc.stderr
    assert "need make (own `bin` recipe): sample-data" in proc.stdout
    assert "make bin" in proc.stdout


def test_src_dir_and_recipes_read_from_makefiles(images):
    catalog = load_catalog(images)
    zookeeper = catalog.get("pets/zookeeper-installer").go
    assert zookeeper.src_dir == images / "pets" / "peer-finder"
    assert (zookeeper.srcs, zookeeper.needs_make) == (("peer-finder",), False)
    greeter = catalog.get("greeter").go
    assert greeter.src_dir == images / "greeter"  # $(notdir $(shell pwd))
    sample = catalog.get("sample-data").go
    assert sample.needs_make and sample.srcs == ()
    assert "$(TARGET)/sample.txt" in sample.make_bin[0]


# --- filters -------------------------------------------------------------------------------


def test_platform_filters_as_users_type_them(upstream_tree):
    def ids(*platforms: str) -> list[str]:
        plan = load_plan(upstream_tree, REGISTRY, Filters(what=("busybox",),
                                                          platforms=platforms))
        return [t.platform.key for t in plan.targets()]

    assert ids("linux/arm/v7") == ids("linux/arm") == ["linux/arm"]
    assert ids("windows/amd64/ltsc2019") == ["windows/amd64/1809"]
    with pytest.raises(PlanError, match="the filters leave nothing to build"):
        ids("linux/arm/v6")  # a variant the catalog does not build is not linux/arm


def test_unknown_windows_version_is_a_warning_naming_it(images):
    plan = load_plan(images, REGISTRY, Filters(windows_versions=("1809",)))
    assert plan.warnings == ("--windows-versions 1809: no image of the catalog builds for it",)
    proc = cli("plan", "--images-dir", str(images), "--windows-versions", "1809,ltsc2022")
    assert proc.returncode == 0
    assert "warning: --windows-versions 1809" in proc.stderr
    assert "ltsc2022" not in proc.stderr


def test_plan_into_a_closed_pipe_ends_quietly(images):
    proc = subprocess.Popen([sys.executable, "-m", "e2e_images.cli", "plan", "--images-dir",
                             str(images)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ))
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head` does once it has its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


# --- Go programs ---------------------------------------------------------------------------


def test_go_line_newer_than_the_installed_go_names_both(images, tmp_path):
    go_mod = images.parent.parent / "go.mod"
    go_mod.write_text(go_mod.read_text().replace("go 1.19", "go 1.99.1\n\ntoolchain go1.99.2"))
    spec = load_catalog(images).get("greeter")
    with pytest.raises(BuildError, match=r"needs Go 1\.99\.1 \(toolchain go1\.99\.2\), but "
                                         r"the installed Go is go1\.\d+") as info:
        compile_payloads(spec.go, spec.path, parse_platform("linux/amd64"), tmp_path / "ctx",
                         tmp_path / "cache")
    assert (info.value.path, info.value.line) == (str(go_mod), 3)


def test_no_go_mod_up_to_the_root_names_the_search(images, tmp_path):
    (images.parent.parent / "go.mod").unlink()
    spec = load_catalog(images).get("greeter")
    with pytest.raises(BuildError, match=r"no go\.mod between .*greeter and the filesystem root"):
        compile_payloads(spec.go, spec.path, parse_platform("linux/amd64"), tmp_path / "ctx",
                         tmp_path / "cache")


def test_go_payload_cache_is_keyed_by_imported_sources_only(images, tmp_path):
    """An unrelated file of the module does not invalidate the payload; a vendored package
    it imports does."""
    spec = load_catalog(images).get("greeter")
    amd64 = parse_platform("linux/amd64")
    cache = tmp_path / "cache"

    def entries() -> set[str]:
        compile_payloads(spec.go, spec.path, amd64, tmp_path / "ctx", cache)
        return {p.parent.name for p in (cache / "go").glob("*/greeter")}

    first = entries()
    write(images.parent.parent / "unrelated" / "other.go", "package unrelated\n")
    assert entries() == first
    greet = images.parent.parent / "vendor" / "example.com" / "greet" / "greet.go"
    greet.write_text(greet.read_text().replace("hello from", "hi from"))
    assert len(entries() - first) == 1


# --- build-time failures -------------------------------------------------------------------


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    with open_session(registry=None, cache=tmp_path_factory.mktemp("cache"), epoch=1) as s:
        yield s


def build_errors(session, images: Path, *what: str) -> dict[str, str]:
    plan = load_plan(images, session.registry, Filters(what=what))
    report = build_plan(plan, session.env, jobs=1)
    return {t.target.id: t.error or "" for t in report.targets}


def test_missing_base_says_where_it_was_asked_for_and_looked_for(session, images):
    write(images / "greeter" / "BASEIMAGE", "linux/amd64=alpine:3.6\n")
    error = build_errors(session, images, "greeter")["greeter-linux-amd64"]
    assert "greeter: base image alpine:3.6 (BASEIMAGE line 1) for linux/amd64 was not " \
           "found" in error
    assert "the hermetic stand-in" in error and "/docker.io/library/alpine:3.6" in error
    assert "--mirrors" in error and "--registry" in error
    assert f"{images / 'greeter' / 'BASEIMAGE'}:1" in error


def test_missing_base_of_a_dockerfile_stage_names_that_line(session, images):
    path = write(images / "win-prep" / "Dockerfile_windows",
                 "ARG BASEIMAGE\nFROM --platform=linux/amd64 arm32v5/busybox:1.36.1 AS prep\n"
                 "RUN true\nFROM $BASEIMAGE\nCOPY --from=prep /bin/busybox /busybox\n")
    error = build_errors(session, images, "win-prep")["win-prep-windows-amd64-ltsc2022"]
    assert f"{path}:2" in error and "Dockerfile_windows line 2" in error
    assert "arm32v5/busybox:1.36.1" in error


def test_own_bin_recipe_copy_is_checked_after_make(session, images):
    path = write(images / "sample-data" / "Dockerfile",
                 "ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY sample.txt /\nCOPY sample.bin /\n")
    load_plan(images, session.registry)  # plan cannot know what make writes
    errors = build_errors(session, images, "sample-data")
    assert all(f"{path}:4" in e and "'sample.bin' not found" in e for e in errors.values())


def test_failing_make_bin_names_the_command(session, images):
    write(images / "sample-data" / "Makefile", "bin:\n\tfalse\n")
    errors = build_errors(session, images, "sample-data")
    assert "`make -C " in errors["sample-data-linux-arm64"]
    assert "bin OS=linux ARCH=arm64 TARGET=" in errors["sample-data-linux-arm64"]


def test_per_arch_standins_are_single_platform_with_their_variant(session):
    pool = session.env.pool
    for ref, variant in (("arm32v6/busybox:1.36.1", "v6"), ("arm32v7/httpd:2.4.39-alpine", "v7"),
                         ("arm64v8/nginx:1.25-alpine", "v8"), ("s390x/busybox:latest", "")):
        where = pool.resolve(ref)
        manifest = pool.client(where.registry).get_manifest(where.repository, where.ref)
        assert not hasattr(manifest, "manifests"), f"{ref} is an index"
        platform = pool.image(ref).config.platform
        assert (platform.os, platform.variant) == ("linux", variant)


def test_unmapped_add_url_without_network_names_line_and_url(session, images):
    path = write(images / "greeter" / "Dockerfile",
                 "ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY greeter /greeter\n"
                 "ADD https://downloads.example.invalid/tool/v1/tool.txt /tool.txt\n")
    errors = build_errors(session, images, "greeter")
    for error in errors.values():
        assert f"{path}:4" in error
        assert "ADD https://downloads.example.invalid/tool/v1/tool.txt: no --artifacts " \
               "entry maps it" in error


def test_artifacts_file_maps_a_prefix_to_a_directory_for_native_and_buildah(tmp_path, images):
    from e2e_images.build.artifact_map import ArtifactRule, write_artifacts_file

    files = tmp_path / "downloads"
    write(files / "v1" / "tool.txt", "tool bytes\n")
    import hashlib

    pin = hashlib.sha256(b"tool bytes\n").hexdigest()
    url = "https://downloads.example.invalid/tool/v1/tool.txt"
    artifacts = write_artifacts_file(
        tmp_path / "artifacts.yaml",
        [ArtifactRule("https://downloads.example.invalid/tool/", directory=files)], {url: pin})
    assert "directory: downloads/" in artifacts.read_text()
    write(images / "greeter" / "Dockerfile",
          f"ARG BASEIMAGE\nFROM $BASEIMAGE AS prep\nADD {url} /prep.txt\n"
          "RUN cp /prep.txt /ran.txt\nFROM $BASEIMAGE\nCOPY --from=prep /ran.txt /ran.txt\n"
          f"ADD {url} /native.txt\n")
    with open_session(registry=None, cache=tmp_path / "cache", epoch=1,
                      artifacts_file=artifacts) as s:
        plan = load_plan(images, s.registry, Filters(what=("greeter",),
                                                     platforms=("linux/amd64",)))
        report = build_plan(plan, s.env, jobs=1)
        assert report.ok, [t.error for t in report.targets]
        from e2e_images.oci.fs import LayerFS

        fs = LayerFS.open(s.env.pool.image(plan.targets()[0].tag))
        assert fs.read("/ran.txt") == fs.read("/native.txt") == b"tool bytes\n"
    # a wrong pin is refused
    write_artifacts_file(artifacts, [ArtifactRule("https://downloads.example.invalid/tool/",
                                                  directory=files)], {url: "0" * 64})
    with open_session(registry=None, cache=tmp_path / "cache", epoch=2,
                      artifacts_file=artifacts) as s:
        plan = load_plan(images, s.registry, Filters(what=("greeter",),
                                                     platforms=("linux/amd64",)))
        report = build_plan(plan, s.env, jobs=1)
        assert "checksum mismatch" in (report.targets[0].error or "")


def test_artifacts_file_errors_name_the_entry(tmp_path):
    from e2e_images.build.artifact_map import load_artifacts_file

    bad = write(tmp_path / "a.yaml", "artifacts:\n  - prefix: ftp://x/\n    mirror: http://m/\n")
    with pytest.raises(BuildError, match="entry 1: prefix 'ftp://x/' is not an http"):
        load_artifacts_file(bad)
    bad.write_text("artifacts:\n  - prefix: https://x/a/\n    directory: ./nowhere/\n")
    with pytest.raises(BuildError, match=r"entry 1: directory .*nowhere does not exist"):
        load_artifacts_file(bad)
    bad.write_text("artifacts: []\npins:\n  https://x/a/b: md5:00\n")
    with pytest.raises(BuildError, match="pin for https://x/a/b: expected sha256"):
        load_artifacts_file(bad)
    good = write(tmp_path / "b.yaml", "artifacts:\n  - prefix: https://x/\n"
                 "    mirror: http://127.0.0.1:9/x/\n  - prefix: https://x/deeper/\n"
                 "    mirror: http://127.0.0.1:9/d/\n")
    amap = load_artifacts_file(good)
    assert amap.match("https://x/deeper/f").mirror == "http://127.0.0.1:9/d/"
    assert amap.match("https://y/f") is None


# --- git_url -------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args],
                          cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("origin,expect", [
    ("git@github.com:kubernetes/kubernetes.git", "https://github.com/kubernetes/kubernetes/tree/"),
    ("https://github.com/kubernetes/kubernetes.git",
     "https://github.com/kubernetes/kubernetes/tree/"),
    ("/srv/mirrors/kubernetes", "file://"),
    ("../kubernetes", "file://"),
    (None, "file://"),
])
def test_git_url_label_is_always_a_url(tmp_path, origin, expect):
    repo = tmp_path / "clone"
    shutil.copytree(FIXTURE, repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "x")
    if origin:
        git(repo, "remote", "add", "origin", origin)
    env_url = os.environ.pop("E2E_IMAGES_GIT_URL", None)
    try:
        plan = load_plan(repo / "test" / "images", REGISTRY, Filters(what=("greeter",)))
    finally:
        if env_url is not None:
            os.environ["E2E_IMAGES_GIT_URL"] = env_url
    label = plan.targets()[0].labels["git_url"]
    assert label.startswith(expect), label
    assert label.endswith("test/images/greeter")
    if expect == "file://":
        assert Path(label.removeprefix("file://")).is_dir()  # the image directory itself
    else:
        assert f"/tree/{git(repo, 'log', '-1', '--format=%h')}/test/images/greeter" in label
    json.dumps(plan.to_json())


def test_cli_build_takes_artifacts_with_a_mirror_prefix(tmp_path, images):
    """`e2e-images build --artifacts FILE`: a mirror entry rewrites the URL's prefix."""
    import functools
    import hashlib
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    served = tmp_path / "served"
    write(served / "mirror" / "v1" / "tool.txt", "mirrored tool\n")
    pin = hashlib.sha256(b"mirrored tool\n").hexdigest()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "https://downloads.example.invalid/tool/v1/tool.txt"
        write(images / "greeter" / "Dockerfile",
              f"ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY greeter /greeter\nADD {url} /tool.txt\n")
        artifacts = write(tmp_path / "artifacts.yaml", (
            "artifacts:\n  - prefix: https://downloads.example.invalid/tool/\n"
            f"    mirror: http://127.0.0.1:{server.server_address[1]}/mirror/\n"
            # the pin proves the bytes came from the mirror
            f"pins:\n  {url}: sha256:{pin}\n"))
        proc = cli("build", "greeter", "--platform", "linux/amd64", "--images-dir",
                   str(images), "--storage", str(tmp_path / "storage"),
                   "--artifacts", str(artifacts), "--json", str(tmp_path / "out.json"))
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "out.json").read_text())["targets"][0]["digest"]


@pytest.mark.parametrize("command", ["build", "gate"])
def test_bad_artifacts_file_is_bad_input(tmp_path, images, command):
    bad = write(tmp_path / "artifacts.yaml", "artifacts:\n  - prefix: https://x/\n")
    proc = cli(command, "--images-dir", str(images), "--artifacts", str(bad),
               "--storage", str(tmp_path / "storage"),
               *(["--results", str(tmp_path / "r.json")] if command == "gate" else []))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"{bad}: artifacts entry 1: expected 'prefix' and one of 'mirror' or " \
           "'directory'" in proc.stderr


def test_pytest_plugin_takes_artifacts(pytester, tmp_path):
    """`pytest --artifacts FILE` reaches the builder's environment (a given registry: no
    embedded one, so no stand-in mirror behind the map)."""
    artifacts = write(tmp_path / "artifacts.yaml", "artifacts:\n  - prefix: https://x.invalid/\n"
                      "    mirror: http://127.0.0.1:9/x/\n")
    pytester.makepyfile("""
        def test_env(e2e_build_env):
            router = e2e_build_env.artifacts
            assert router.url_for("https://x.invalid/a/b.zip") == "http://127.0.0.1:9/x/a/b.zip"
            assert router.fallback is None and not e2e_build_env.hermetic
    """)
    result = pytester.runpytest_subprocess("--registry", "registry.example/e2e",
                                           "--artifacts", str(artifacts),
                                           f"--basetemp={tmp_path / 'bt'}")
    result.assert_outcomes(passed=1)
