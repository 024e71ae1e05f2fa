"""The CI recipes in ci/ (issue 14, part 3): parsed, and every `e2e-images` command line they
hold run against `e2e-images registry serve --standins`, shards at once, then the gate.

Hosted actions and builder images are only parsed. Parameters are substituted the way each
engine does (`${{ inputs.x }}`, `${_X}`), with the shared registry's own files as `--mirrors`
and `--artifacts`; each command gets its own cache dir and HOME, as a separate machine would.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from e2e_images.cli import COMMANDS
from e2e_images.registry.embedded import DEFAULT_BINARY
from e2e_images.workspace import load_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from gen_catalog import generate

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "ci"
CLI = Path(sys.executable).parent / "e2e-images"
WHAT = ""  # every image of the generated catalog the run test builds instead of images/
_GH_EXPR = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")
_CB_SUBST = re.compile(r"\$\{(_[A-Z0-9_]+|PROJECT_ID|BUILD_ID)\}")


@dataclass(frozen=True)
class Command:
    recipe: str
    phase: str  # "shards" (run at once) or "gate" (after every shard)
    where: str  # job/step and shard, for messages
    script: str  # the command line with parameters left in
    env: dict[str, str]  # the step's own environment, parameters left in


def _e2e_lines(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip().startswith("e2e-images ")]


def github_commands() -> list[Command]:
    doc = yaml.safe_load((CI / "github-actions.yaml").read_text())
    out = []
    for name, job in doc["jobs"].items():
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        combos = [dict(zip(matrix, values, strict=True))
                  for values in itertools.product(*matrix.values())]
        for combo in combos or [{}]:
            env = {k: str(v).replace("${{ matrix.shard }}", str(combo.get("shard", "")))
                   for k, v in (job.get("env") or {}).items()}
            for step in job["steps"]:
                for line in _e2e_lines(step.get("run", "")):
                    line = line.replace("${{ matrix.shard }}", str(combo.get("shard", "")))
                    phase = "gate" if job.get("needs") else "shards"
                    out.append(Command("github", phase, f"{name} {combo}", line,
                                       env | {"HOME": "${{ runner.temp }}/home"}))
    return out


def cloudbuild_commands() -> list[Command]:
    doc = yaml.safe_load((CI / "cloudbuild.yaml").read_text())
    out = []
    for step in doc["steps"]:
        env = dict(item.split("=", 1) for item in step.get("env", ()))
        phase = "shards" if step.get("waitFor") == ["-"] else "gate"
        for line in _e2e_lines(step["args"][-1]):
            out.append(Command("cloudbuild", phase, step["id"], line, env))
    return out


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"e2e-images {command}", exit_on_error=False)
    importlib.import_module(COMMANDS[command][0]).add_arguments(parser)
    return parser


def unknown_options(argv: list[str]) -> list[str]:
    known = _subparser(argv[1])._option_string_actions
    return [a.split("=", 1)[0] for a in argv[2:] if a.startswith("--") and
            a.split("=", 1)[0] not in known]


def substituted(text: str, recipe: str, params: dict[str, str], temp: Path) -> str:
    if recipe == "github":
        names = {"runner.temp": str(temp)} | {f"inputs.{k}": v for k, v in params.items()}
        return _GH_EXPR.sub(lambda m: names[m.group(1)], text)
    names = {f"_{k.upper()}": v for k, v in params.items()} | {"_DOCKER_CONFIG": str(temp / "dc")}
    return _CB_SUBST.sub(lambda m: names[m.group(1)], text).replace("/workspace", str(temp))


ALL = github_commands() + cloudbuild_commands()


def test_recipes_shard_the_catalog_then_gate():
    """Both engines: N shards, each `--shard i/N` once, started together; one gate after."""
    gh = yaml.safe_load((CI / "github-actions.yaml").read_text())
    assert gh["jobs"]["gate"]["needs"] == "build"
    assert all("@" in s["uses"] for j in gh["jobs"].values() for s in j["steps"] if "uses" in s)
    cb = yaml.safe_load((CI / "cloudbuild.yaml").read_text())
    shard_ids = [s["id"] for s in cb["steps"] if s.get("waitFor") == ["-"]]
    assert next(s for s in cb["steps"] if s["id"] == "gate")["waitFor"] == shard_ids
    for recipe in ("github", "cloudbuild"):
        builds = [c for c in ALL if c.recipe == recipe and c.phase == "shards"]
        shards = sorted(re.search(r"--shard \"?(\d+/\d+)", c.script).group(1) for c in builds)
        assert shards == ["1/3", "2/3", "3/3"], recipe
        gates = [c for c in ALL if c.recipe == recipe and c.phase == "gate"]
        assert len(gates) == 1 and "--no-build" in gates[0].script
        for c in ALL:
            if c.recipe == recipe:
                for opt in ("--registry", "--mirrors"):
                    assert opt in c.script, (c.where, opt)


@pytest.mark.parametrize("command", ALL, ids=lambda c: f"{c.recipe}-{c.where}")
def test_every_command_line_parses_with_this_cli(command, tmp_path):
    params = {"registry": "127.0.0.1:5000/ns", "mirrors": "m.yaml", "artifacts": "a.yaml",
              "what": WHAT}
    argv = shlex.split(substituted(command.script, command.recipe, params, tmp_path))
    missing = unknown_options(argv)
    if missing:
        pytest.skip(f"this CLI has no {', '.join(missing)} yet (added on another branch; "
                    "the recipes use it as the merged CLI will)")
    _subparser(argv[1]).parse_args(argv[2:])


def catalog_for_shards(root: Path, shards: int) -> Path:
    """A RUN-less generated catalog (bench/gen_catalog.py) just large enough that every shard
    gets an image, so the test stays cheap and no shard is empty."""
    from e2e_images.plan import Filters

    for count in range(shards, 64):
        generate(root, count)
        plans = [load_plan(root, "registry.example/ns", Filters(shard=(i, shards)))  # type: ignore[call-arg]
                 for i in range(1, shards + 1)]
        if all(p.images for p in plans):
            return root
    raise AssertionError(f"no generated catalog gives each of {shards} shards an image")


@pytest.fixture(scope="module")
def shared_registry(tmp_path_factory):
    """`e2e-images registry serve --standins`, the only thing the commands share."""
    if not Path(DEFAULT_BINARY).exists():
        pytest.skip(f"{DEFAULT_BINARY} (docker-registry) not installed")
    storage = tmp_path_factory.mktemp("shared")
    log = (storage.parent / "serve.log").open("w")
    proc = subprocess.Popen([str(CLI), "registry", "serve", "--standins", "--storage",
                             str(storage)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not (storage / "artifacts.yaml").exists():
            assert proc.poll() is None, (storage.parent / "serve.log").read_text()
            assert time.monotonic() < deadline, "registry serve --standins did not get ready"
            time.sleep(0.1)
        host = re.search(r"listening on (\S+)", (storage.parent / "serve.log").read_text())
        yield host.group(1), storage
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.parametrize("recipe", ["github", "cloudbuild"])
def test_recipe_runs_against_the_shared_hermetic_registry(recipe, shared_registry, tmp_path):
    host, storage = shared_registry
    params = {"registry": f"{host}/{recipe}", "mirrors": str(storage / "mirrors.yaml"),
              "artifacts": str(storage / "artifacts.yaml"), "what": WHAT}
    commands = [c for c in ALL if c.recipe == recipe]
    runs = []
    for i, c in enumerate(commands):
        temp = tmp_path / f"machine-{i}"
        argv = shlex.split(substituted(c.script, recipe, params, temp))
        missing = unknown_options(argv)
        if missing:
            pytest.skip(f"{c.where}: this CLI has no {', '.join(missing)} yet (added on "
                        "another branch); the recipe runs once both are merged")
        env = {k: substituted(v, recipe, params, temp) for k, v in c.env.items()}
        for path in (env["HOME"], env["E2E_IMAGES_CACHE"], temp):
            Path(path).mkdir(parents=True, exist_ok=True)
        runs.append((c, [str(CLI), *argv[1:]], os.environ | env, temp))
    catalog = catalog_for_shards(tmp_path / "catalog", len(
        [c for c in commands if c.phase == "shards"]))
    for _, _, env, _ in runs:
        env["E2E_IMAGES_DIR"] = str(catalog)
    for phase in ("shards", "gate"):
        started = [(c, subprocess.Popen(argv, cwd=temp, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True))
                   for c, argv, env, temp in runs if c.phase == phase]
        for c, proc in started:
            output, _ = proc.communicate(timeout=900)
            assert proc.returncode == 0, f"{c.where}: {output[-2000:]}"
    gate_dir = next(temp for c, _, _, temp in runs if c.phase == "gate")
    results = json.loads((gate_dir / "gate-results.json").read_text())
    assert results["passed"], results
    assert sorted(r["dir"] for r in results["images"]) == sorted(
        i.spec.dir for i in load_plan(catalog, params["registry"]).images)
