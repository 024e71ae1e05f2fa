"""Golden cases: cases/<name> resolve to expected.json; negative/<name> fail with
expected_error.txt, which names the line. E2E_REGOLDEN=1 rewrites expected.json (then review
the diff: the point of a golden file is that a person checked it).

`input.json` (optional) holds {"build_args": {...}, "target": "os/arch", "build": "os/arch",
"stage": name}; the defaults are no args and linux/amd64 for both platforms. Negative cases
also resolve every context COPY/ADD against the case directory, so context errors count.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from e2e_images.build.dockerfile import (
    Add,
    Copy,
    ResolvedDockerfile,
    list_context,
    parse_dockerfile,
    resolve,
    resolve_sources,
)
from e2e_images.errors import DockerfileError
from e2e_images.platforms import parse_platform

HERE = Path(__file__).parent


def run_case(case: Path, *, check_context: bool = False) -> ResolvedDockerfile:
    spec_file = case / "input.json"
    spec = json.loads(spec_file.read_text()) if spec_file.is_file() else {}
    df = parse_dockerfile((case / "Dockerfile").read_bytes(), "Dockerfile")
    resolved = resolve(df, build_args=spec.get("build_args", {}),
                       target=parse_platform(spec.get("target", "linux/amd64")),
                       build=parse_platform(spec.get("build", "linux/amd64")),
                       stage=spec.get("stage"))
    if check_context:
        context = list_context(case)
        for stage in resolved.stages:
            for step in stage.steps:
                cmd = step.instruction
                if isinstance(cmd, Add) or (isinstance(cmd, Copy) and cmd.from_ is None):
                    resolve_sources(cmd, context.listing, workdir=step.workdir,
                                    read_head=context.read_head)
    return resolved


def _cases(kind: str) -> list[Path]:
    return sorted(p for p in (HERE / kind).iterdir() if (p / "Dockerfile").is_file())


@pytest.mark.parametrize("case", _cases("cases"), ids=lambda p: p.name)
def test_case(case: Path) -> None:
    got = run_case(case).to_json()
    expected_file = case / "expected.json"
    if os.environ.get("E2E_REGOLDEN"):
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    assert json.loads(json.dumps(got)) == json.loads(expected_file.read_text())


@pytest.mark.parametrize("case", _cases("negative"), ids=lambda p: p.name)
def test_negative(case: Path) -> None:
    with pytest.raises(DockerfileError) as info:
        run_case(case, check_context=True)
    err = info.value
    assert err.path == "Dockerfile"
    assert err.line is not None, "a Dockerfile error must name the line"
    assert str(err) == (case / "expected_error.txt").read_text().strip()


def test_every_case_has_its_expectation() -> None:
    for case in _cases("cases"):
        assert (case / "expected.json").is_file() or os.environ.get("E2E_REGOLDEN"), case
    for case in _cases("negative"):
        assert (case / "expected_error.txt").is_file(), case
