"""The scale benchmark's machinery (issue 14): the generated catalog plans as promised, and a
--quick run reports figures measured through the counting proxy. No timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_images.build.dockerfile.parser import parse
from e2e_images.registry.embedded import DEFAULT_BINARY
from e2e_images.workspace import load_plan

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from gen_catalog import TARGETS_PER_IMAGE, generate  # noqa: E402


def test_generated_catalog_is_run_less_and_eight_targets_per_image(tmp_path):
    generate(tmp_path / "cat", 3)
    plan = load_plan(tmp_path / "cat", "registry.example/ns")
    assert len(plan.images) == 3 and len(plan.targets()) == 3 * TARGETS_PER_IMAGE == 24
    assert {t.platform.os for t in plan.targets()} == {"linux", "windows"}
    for target in plan.targets():
        text = target.dockerfile.read_text()
        assert "run" not in {n.instruction for n in parse(text, "Dockerfile").nodes}
    again = tmp_path / "again"
    generate(again, 3)
    assert all((again / p.relative_to(tmp_path / "cat")).read_bytes() == p.read_bytes()
               for p in (tmp_path / "cat").rglob("*") if p.is_file())


@pytest.mark.skipif(not Path(DEFAULT_BINARY).exists(), reason="docker-registry not installed")
def test_quick_scale_run_reports_measured_figures(tmp_path):
    out = tmp_path / "scale.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "scale.py"), "--quick", "--skip", "project",
         "--workdir", str(tmp_path / "w"), "--json", str(out)],
        capture_output=True, text=True, timeout=900, cwd=BENCH)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    figures = {f["scenario"]: f for f in json.loads(out.read_text())["figures"]}
    assert set(figures) == {"g-cold", "g-noop", "g-cnoop", "g-suite-1"}
    assert not any(f["failed"] for f in figures.values()), figures
    assert figures["g-cold"]["pushed"] > 0 and figures["g-cold"]["note"] == "16 built"
    for name in ("g-noop", "g-cnoop"):  # nothing pushed, a few requests per target
        assert figures[name]["pushed"] == 0 and figures[name]["note"] == "0 built"
        assert 0 < figures[name]["requests"] < figures["g-cold"]["requests"]
    assert "tests passed" in figures["g-suite-1"]["note"]
