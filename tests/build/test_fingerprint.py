"""Input fingerprints recorded in the registry beside the images (issue 14, part 1)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_images.build import fingerprint as fp
from e2e_images.build.builder import build_target, current_digest
from e2e_images.catalog import GoBinaries
from e2e_images.oci.models import Manifest
from e2e_images.pipeline import build_plan
from e2e_images.plan import Filters
from e2e_images.platforms import parse_platform
from e2e_images.session import build_env, open_session
from e2e_images.workspace import load_plan

PROJECT = Path(__file__).resolve().parents[2]
IMAGES = PROJECT / "images"
EPOCH = 1_700_000_000
TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")  # the distribution spec's tag rule
LINUX = parse_platform("linux/amd64")


def _fingerprint(registry: str, **changes: object) -> str:
    inputs: dict[str, object] = dict(
        dockerfile="ARG BASEIMAGE\nFROM $BASEIMAGE\n",
        build_args={"BASEIMAGE": f"{registry}/busybox:1-linux-amd64", "REGISTRY": registry},
        labels={"image_version": "1.0"}, sources="s" * 64,
        images_read=[(f"{registry}/busybox:1-linux-amd64", "sha256:" + "a" * 64)],
        epoch=EPOCH, backend="auto", registry=registry)
    return fp.target_fingerprint(**(inputs | changes))  # type: ignore[arg-type]


def test_fingerprint_leaves_out_the_registry_and_namespace_but_not_the_inputs():
    one = _fingerprint("127.0.0.1:5000/e2e-test-images")
    assert one == _fingerprint("registry.example/other-namespace")
    assert one != _fingerprint("127.0.0.1:5000/e2e-test-images", epoch=EPOCH + 1)
    assert one != _fingerprint("127.0.0.1:5000/e2e-test-images", sources="t" * 64)
    assert one != _fingerprint("127.0.0.1:5000/e2e-test-images", images_read=[
        ("127.0.0.1:5000/e2e-test-images/busybox:1-linux-amd64", "sha256:" + "b" * 64)])


def test_record_names_the_digest_only_for_its_own_fingerprint():
    digest = "sha256:" + "c" * 64
    record = fp.record_manifest("f" * 64, digest)
    assert TAG.match(fp.inputs_tag("f" * 64)) and fp.is_inputs_tag(fp.inputs_tag("f" * 64))
    assert isinstance(record, Manifest) and len(record.raw) < 1024
    assert fp.recorded_digest(record, "f" * 64) == digest
    assert fp.recorded_digest(record, "e" * 64) is None


def test_list_fingerprint_depends_on_children_not_on_the_list_tag():
    a = fp.list_fingerprint("application/vnd.oci.image.index.v1+json",
                            [("linux/amd64", "sha256:" + "1" * 64)])
    b = fp.list_fingerprint("application/vnd.oci.image.index.v1+json",
                            [("linux/amd64", "sha256:" + "2" * 64)])
    assert a != b and "agnhost" not in a


def test_sources_digest_hashes_go_sources_without_compiling(tmp_path):
    image = tmp_path / "img"
    (image / "cmd").mkdir(parents=True)
    (image / "go.mod").write_text("module example.invalid/img\n\ngo 1.19\n")
    (image / "cmd" / "main.go").write_text("package main\n\nfunc main() {}\n")
    go = GoBinaries(srcs=("cmd/cmd",), ld_flags="")
    before = fp.sources_digest(image, go, LINUX, tmp_path)
    assert not (image / "cmd" / "cmd").exists()  # nothing was built
    (image / "cmd" / "main.go").write_text("package main\n\nfunc main() { println() }\n")
    assert fp.sources_digest(image, go, LINUX, tmp_path) != before
    assert fp.sources_digest(image, go, parse_platform("linux/arm64"), tmp_path) != \
        fp.sources_digest(image, go, LINUX, tmp_path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """agnhost (Go payload) on busybox for linux/amd64, built once into an embedded registry."""
    cache = tmp_path_factory.mktemp("cache")
    with open_session(registry=None, cache=cache, epoch=EPOCH) as session:
        plan = load_plan(IMAGES, session.registry,
                         Filters(what=("busybox", "agnhost"), platforms=("linux/amd64",)))
        # a deliberately narrowed list: one entry, so the list gets its record too
        report = build_plan(plan, session.env, jobs=2, narrow_lists=True)
        assert report.ok, [(t.target.id, t.error) for t in report.targets if t.error]
        yield session, plan, report


def _cold_env(session, cache: Path):
    return build_env(session.env.pool, registry=session.registry, cache=cache, epoch=EPOCH,
                     backend="auto")


def test_record_tag_sits_beside_the_image_and_names_its_digest(built):
    session, _, report = built
    agnhost = next(t for t in report.targets if t.target.image_dir == "agnhost")
    host, namespace = session.registry.split("/", 1)
    client = session.env.pool.client(host)
    records = [t for t in client.list_tags(f"{namespace}/agnhost") if fp.is_inputs_tag(t)]
    assert len(records) == 2  # the target's and the list's
    named = {fp.recorded_digest(client.get_manifest(f"{namespace}/agnhost", t),
                                t[len(fp.INPUTS_TAG_PREFIX):]) for t in records}
    assert agnhost.build.digest in named
    listed = next(i for i in report.images if i.image.spec.dir == "agnhost")
    assert listed.published.index.digest in named


def test_cold_cache_skips_from_the_registry_and_compiles_nothing(built, tmp_path):
    session, plan, report = built
    env = _cold_env(session, tmp_path / "cold")
    target = next(t for t in plan.targets() if t.image_dir == "agnhost")
    expected = next(t.build.digest for t in report.targets if t.target.id == target.id)
    assert current_digest(target, env) == expected
    result = build_target(target, env)
    assert (result.backend, result.digest, result.bytes_pushed, result.pushed) == \
        ("unchanged", expected, 0, False)
    assert not (tmp_path / "cold" / "go").exists() and not (tmp_path / "cold" / "contexts").exists()


def test_moved_tag_is_rebuilt_and_its_record_kept(built, tmp_path):
    session, plan, report = built
    env = _cold_env(session, tmp_path / "cold")
    agnhost = next(t for t in plan.targets() if t.image_dir == "agnhost")
    busybox = next(t for t in report.targets if t.target.image_dir == "busybox")
    host, _ = session.registry.split("/", 1)
    client = session.env.pool.client(host)
    repo = agnhost.tag.split("/", 1)[1].split(":")[0]
    other = client.get_manifest(busybox.target.tag.split("/", 1)[1].split(":")[0],
                                busybox.build.digest)
    for blob in (other.config, *other.layers):  # make the busybox image readable in agnhost
        client.mount_blob(repo, blob.digest, busybox.target.tag.split("/", 1)[1].split(":")[0])
    client.put_manifest(repo, agnhost.tag.rsplit(":", 1)[1], other.raw, other.media_type)
    result = build_target(agnhost, env)
    assert result.backend != "unchanged" and result.pushed
    assert result.digest == current_digest(agnhost, env) != busybox.build.digest


def test_whole_catalog_cold_cache_rebuild_pushes_nothing_and_compiles_nothing(tmp_path):
    """Acceptance: a full build, then the same build with a new cache dir and an empty HOME
    against the same registry storage: every target and list unchanged, 0 bytes pushed, no
    compiled output anywhere (the builder's Go cache and Go's own build cache stay absent)."""
    cli = Path(sys.executable).parent / "e2e-images"
    storage = tmp_path / "registry"
    reports = {}
    for run in ("full", "cold"):
        home, cache = tmp_path / run / "home", tmp_path / run / "cache"
        home.mkdir(parents=True)
        env = os.environ | {"HOME": str(home), "E2E_IMAGES_CACHE": str(cache)}
        env.pop("XDG_CACHE_HOME", None)
        env.pop("GOCACHE", None)
        out = tmp_path / run / "report.json"
        result = subprocess.run([str(cli), "build", "--images-dir", str(IMAGES), "--storage",
                                 str(storage), "--json", str(out)], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=1800)
        assert result.returncode == 0, result.stderr[-3000:]
        reports[run] = json.loads(out.read_text())
    full, cold = reports["full"], reports["cold"]
    assert len(cold["targets"]) == len(full["targets"]) > 60
    assert {t["backend"] for t in cold["targets"]} == {"unchanged"}
    assert sum(t["bytes_pushed"] for t in cold["targets"]) == 0
    assert not any(x["pushed"] for x in cold["lists"] if x["digest"])
    assert [t["digest"] for t in cold["targets"]] == [t["digest"] for t in full["targets"]]
    assert [x["digest"] for x in cold["lists"]] == [x["digest"] for x in full["lists"]]
    assert not (tmp_path / "cold" / "cache" / "go").exists()
    assert not (tmp_path / "cold" / "home" / ".cache" / "go-build").exists()


def test_record_survives_a_registry_that_lost_the_empty_blob(tmp_path):
    """The `{}` blob is remembered per repository; a new registry on the same address (or a
    garbage collection) that lacks it costs one re-push, not a failed record."""
    from e2e_images.registry.client import RegistryClient
    from e2e_images.registry.embedded import EmbeddedRegistry

    digest = "sha256:" + "d" * 64
    with EmbeddedRegistry(tmp_path / "one") as first:
        port = first.port
        fp.record(RegistryClient(first.host), "ns/img", "a" * 64, digest)
    with EmbeddedRegistry(tmp_path / "two", port=port) as second:
        client = RegistryClient(second.host)
        fp.record(client, "ns/img", "b" * 64, digest)
        assert fp.lookup(client, "ns/img", "b" * 64) == digest
        assert fp.lookup(client, "ns/img", "a" * 64) is None
