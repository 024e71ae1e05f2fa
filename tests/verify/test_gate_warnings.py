"""Warnings pass the gate and promotion unless `--fail-on-warnings`: a Windows image in
upstream's BASEIMAGE order (1809, ltsc2022, ltsc2025) on the hermetic default. Its list gets
the order warning (a 2025 node on containerd 1.7.20-2.1 pulls the ltsc2022 entry) and no
error."""

from __future__ import annotations

from pathlib import Path

from upstream_tree import write

from e2e_images.cli import main
from e2e_images.gate import EXIT_FAILED, EXIT_OK, GateOptions, run_gate
from e2e_images.publish.images_yaml import ImagesYaml
from e2e_images.publish.results import read_results

RELEASES = ("1809", "ltsc2022", "ltsc2025")


def test_warnings_pass_the_gate_unless_asked(tmp_path: Path) -> None:
    tree = tmp_path / "images"
    d = tree / "win"
    write(d / "VERSION", "1.0\n")
    write(d / "BASEIMAGE", "".join(
        f"windows/amd64/{r}=mcr.microsoft.com/windows/nanoserver:{r}\n" for r in RELEASES))
    write(d / "Dockerfile", "ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY hello.txt /hello/hello.txt\n")
    write(d / "hello.txt", "hello windows\n")
    common = {"images_dir": tree, "storage": tmp_path / "registry", "cache": tmp_path / "cache"}
    images_yaml = tmp_path / "images.yaml"
    outcome = run_gate(GateOptions(**common, results=tmp_path / "results.json",
                                   images_yaml=images_yaml))  # type: ignore[arg-type]
    assert outcome.exit_code == EXIT_OK, [i.error or i.findings for i in outcome.results.images]
    (win,) = read_results(tmp_path / "results.json").images
    assert win.passed and not win.errors
    assert [(f.check, f.subject) for f in win.warnings] == [
        ("LIST-CONTAINERD",
         "containerd 1.7.20-2.1 node.kubernetes.io/windows-build=10.0.26100")]
    assert {e.name for e in ImagesYaml.load(images_yaml).entries()} == {"win"}

    strict = tmp_path / "strict-images.yaml"
    outcome = run_gate(GateOptions(**common, build=False, fail_on_warnings=True,
                                   results=tmp_path / "strict.json",
                                   images_yaml=strict))  # type: ignore[arg-type]
    assert outcome.exit_code == EXIT_FAILED and not strict.exists()
    assert not read_results(tmp_path / "strict.json").images[0].passed
    # the CLI takes the same options; 2.2+ alone sorts by os.version: nothing to warn about
    assert main(["gate", "--images-dir", str(tree), "--storage", str(tmp_path / "registry"),
                 "--cache-dir", str(tmp_path / "cache"), "--no-build",
                 "--results", str(tmp_path / "cli.json"), "--fail-on-warnings",
                 "--containerd-families", "2.2+"]) == 0
