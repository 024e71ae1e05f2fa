"""The one pipeline (issue 12): filters never narrow a list, prerequisites follow the filter,
host services are checked first, one storage layout, and the CLI, the gate and the plugin
give one digest for one target."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from upstream_tree import make_tiny_tree, write

from e2e_images.build.builder import current_digest
from e2e_images.cli import main
from e2e_images.gate import GateOptions, run_gate
from e2e_images.pipeline import Pipeline
from e2e_images.plan import Filters
from e2e_images.registry.client import RegistryClient
from e2e_images.session import open_session
from e2e_images.workspace import load_plan

PROJECT = Path(__file__).resolve().parents[1]
IMAGES = PROJECT / "images"
EPOCH = "1700000000"
CLI = [str(Path(sys.executable).with_name("e2e-images"))]


@pytest.fixture(autouse=True)
def pinned_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("REGISTRY", raising=False)


@pytest.fixture
def build(capsys, tmp_path):
    """`e2e-images build ARGS --json`, in process: exit code, the JSON report, stderr."""
    def run(*args: str) -> tuple[int, dict, str]:
        out = tmp_path / "build.json"
        out.unlink(missing_ok=True)
        where = () if "--images-dir" in args else ("--images-dir", str(IMAGES))
        code = main(["build", *args, *where, "--json", str(out)])
        err = capsys.readouterr().err
        return code, json.loads(out.read_text()) if out.exists() else {}, err

    return run


def lists(report: dict) -> dict[str, dict]:
    return {item["dir"]: item for item in report["lists"]}


def drop_tag(storage: Path, repository: str, tag: str) -> None:
    """Delete a tag the way a registry GC or an operator would: its link in the storage."""
    path = storage / "docker/registry/v2/repositories" / repository / "_manifests/tags" / tag
    assert path.is_dir(), path
    shutil.rmtree(path)


class Served:
    """`e2e-images registry serve --storage DIR`, the real command, until closed."""

    def __init__(self, storage: Path) -> None:
        self.process = subprocess.Popen([*CLI, "registry", "serve", "--storage", str(storage)],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()  # "registry listening on HOST (storage DIR)"
        assert line.startswith("registry listening on "), line
        self.host = line.split()[3]
        self.client = RegistryClient(self.host)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def test_a_filtered_run_never_narrows_a_list(build, tmp_path):
    """Full build, then `build busybox --platform linux/amd64`: the list is unchanged. With
    one per-platform tag gone, the filtered run refuses the list, names the tag, exits 0, and
    `registry serve --storage` on the same directory still serves the old list."""
    storage = tmp_path / "storage"
    code, full, err = build("windows-servercore-cache", "busybox",
                            "--storage", str(storage))
    assert code == 0, err
    digest = lists(full)["busybox"]["digest"]
    assert digest and len([t for t in full["targets"] if t["id"].startswith("busybox-")]) == 8

    code, again, err = build("busybox", "--platform", "linux/amd64",
                             "--storage", str(storage))
    assert code == 0, err
    assert [t["id"] for t in again["targets"]] == ["busybox-linux-amd64"]
    assert lists(again)["busybox"]["digest"] == digest

    drop_tag(storage, "e2e-test-images/busybox", "1.36.1-1-linux-s390x")
    code, refused, err = build("busybox", "--platform", "linux/amd64",
                               "--storage", str(storage))
    assert code == 0, err
    busybox = lists(refused)["busybox"]
    assert busybox["digest"] is None and busybox["error"] is None
    assert [m.rsplit("/", 1)[-1] for m in busybox["missing"]] == ["busybox:1.36.1-1-linux-s390x"]
    notice = [line for line in err.splitlines() if line.startswith("notice:")]
    assert len(notice) == 1 and "busybox:1.36.1-1-linux-s390x" in notice[0]
    assert "--platform linux/s390x" in notice[0]
    with Served(storage) as served:
        held = served.client.head_manifest("e2e-test-images/busybox", "1.36.1-1")
        assert held is not None and held.digest == digest


def test_prerequisites_follow_the_filter(build, tmp_path):
    """On a fresh cache: the servercore cache the Windows busybox reads is built first; the
    list is not pushed (its other platforms are nowhere), which is a notice, not a failure."""
    code, report, err = build("busybox", "--platform", "windows/amd64/ltsc2022",
                              "--cache-dir", str(tmp_path / "cache"),
                              "--storage", str(tmp_path / "storage"))
    assert code == 0, err
    built = [t["id"] for t in report["targets"] if t["digest"]]
    assert built == ["windows-servercore-cache-linux-amd64-ltsc2022",
                     "busybox-windows-amd64-ltsc2022"]
    assert "MANIFEST_UNKNOWN" not in err
    assert lists(report)["busybox"]["digest"] is None
    assert "not pushed" in err and "busybox:1.36.1-1-linux-amd64" in err


def test_narrow_lists_is_a_flag_of_its_own(build, tmp_path):
    tree = make_tiny_tree(tmp_path / "images")
    storage = tmp_path / "storage"
    common = ("--images-dir", str(tree), "--storage", str(storage), "--platform", "linux/arm64")
    code, report, _ = build("base", *common)
    assert code == 0 and lists(report)["base"]["digest"] is None
    code, report, _ = build("base", *common, "--narrow-lists")
    assert code == 0 and lists(report)["base"]["digest"] is not None
    with Served(storage) as served:
        index = served.client.get_manifest("e2e-test-images/base", "1.0")
        assert [d.platform.architecture for d in index.manifests] == ["arm64"]


def test_only_what_the_current_inputs_produce_stands_in(tmp_path, monkeypatch):
    """A per-platform tag built from an older commit (other labels), or taken over by another
    platform's image, is not taken into a list."""
    tree = make_tiny_tree(tmp_path / "images")  # not a git checkout: GIT_COMMIT_ID labels it
    monkeypatch.setenv("GIT_COMMIT_ID", "1111111")
    with open_session(registry=None, cache=tmp_path / "cache", epoch=int(EPOCH)) as s:
        client = s.env.pool.client(s.registry.split("/")[0])
        old = load_plan(tree, s.registry, Filters(what=("base",)))
        assert Pipeline(old, s.env).run().complete
        arm64 = old.targets()[1]
        held = client.head_manifest("e2e-test-images/base", "1.0-linux-arm64")
        assert current_digest(arm64, s.env) == held.digest

        monkeypatch.setenv("GIT_COMMIT_ID", "2222222")
        new = load_plan(tree, s.registry, Filters(what=("base",), platforms=("linux/amd64",)))
        assert current_digest(new.image("base").targets[1], s.env) is None  # old commit
        report = Pipeline(new, s.env).run()
        assert report.ok and not report.complete
        assert report.images[0].missing == (arm64.tag,)

        wrong = client.get_manifest("e2e-test-images/base", "1.0-linux-amd64")
        client.put_manifest("e2e-test-images/base", "1.0-linux-arm64", wrong.raw,
                            wrong.media_type)
        assert current_digest(new.image("base").targets[1], s.env) is None  # amd64 image


@pytest.fixture
def world_readable():
    """A directory `nobody` can read (pytest's own temp root is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="e2e-images-nobody-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_missing_binfmt_is_one_line_for_a_non_root_user(world_readable):
    """As `nobody`, with the binfmt state read from an empty directory (the host's handlers
    are never touched): one line naming the arch and the command, before anything starts."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the command as nobody")
    tmp_path = world_readable
    tree = make_tiny_tree(tmp_path / "images")
    write(tree / "base" / "Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\nRUN true\n")
    (tmp_path / "binfmt").mkdir()
    for path in tmp_path.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
           "E2E_IMAGES_BINFMT_DIR": str(tmp_path / "binfmt"),
           "E2E_IMAGES_CACHE": str(tmp_path / "cache")}
    out = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                          *CLI, "build", "base", "--images-dir", str(tree)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1, out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert "qemu-aarch64" in out.stderr and "hack/services.sh up" in out.stderr
    assert not (tmp_path / "cache").exists(), "it stopped before starting anything"


PLUGIN_PROBE = """
import os, pathlib

def test_digest(built_target):
    out = pathlib.Path(os.environ["PROBE_OUT"]) / built_target.target.id
    out.write_text(built_target.digest)
"""


def test_cli_gate_and_plugin_give_one_digest(build, pytester, tmp_path, monkeypatch):
    """The same target through the three ways in, each on its own storage and cache."""
    target = "kitten-linux-amd64"
    code, report, err = build("kitten", "--platform", "linux/amd64",
                              "--storage", str(tmp_path / "cli"),
                              "--cache-dir", str(tmp_path / "cache-cli"))
    assert code == 0, err
    cli = {t["id"]: t["digest"] for t in report["targets"]}[target]

    outcome = run_gate(GateOptions(
        images_dir=IMAGES, filters=Filters(what=("kitten",), platforms=("linux/amd64",)),
        storage=tmp_path / "gate", cache=tmp_path / "cache-gate",
        results=tmp_path / "gate.json"))
    assert outcome.exit_code == 3, "the gate fails on a list it could not complete"
    gate = {t.target.id: t.build.digest for t in outcome.build.targets}[target]

    probes = tmp_path / "plugin"
    probes.mkdir()
    monkeypatch.setenv("PROBE_OUT", str(probes))
    pytester.makepyfile(PLUGIN_PROBE)
    result = pytester.runpytest_subprocess(  # `pytest -p no:xdist -k "kitten and amd64"`
        "-p", "no:xdist", "--images-dir", str(IMAGES), "-k", "kitten and amd64",
        f"--cache-dir={tmp_path / 'cache-plugin'}", f"--basetemp={tmp_path / 'bt'}")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") and not outcomes.get("failed") and not outcomes.get("errors")
    assert "image x platform x check" in result.stdout.str()
    plugin = (probes / target).read_text()
    assert cli == gate == plugin
