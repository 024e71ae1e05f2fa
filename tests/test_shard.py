"""`--shard I/N` (issue 14): a stable share of the catalog's images; prerequisites outside
the share are still built (or found) first."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from e2e_images.cli import main
from e2e_images.errors import PlanError
from e2e_images.pipeline import closure
from e2e_images.plan import Filters, parse_shard
from e2e_images.workspace import load_plan

IMAGES = Path(__file__).resolve().parents[1] / "images"


def shard_dirs(images: Path, shard: str) -> set[str]:
    plan = load_plan(images, "example.invalid", Filters(shard=parse_shard(shard)))
    return {i.spec.dir for i in plan.images}


def test_shards_partition_the_catalog():
    every = {i.spec.dir for i in load_plan(IMAGES, "example.invalid").images}
    shares = [shard_dirs(IMAGES, f"{i}/3") for i in (1, 2, 3)]
    assert set().union(*shares) == every
    assert sum(len(s) for s in shares) == len(every)
    assert all(shares), "12 images over 3 shards leave none empty"


def test_a_shard_does_not_depend_on_the_rest_of_the_catalog(tmp_path):
    """The same image lands in the same shard on any machine and in a catalog without some
    of the others (a hash of its directory, not its position)."""
    copy = shutil.copytree(IMAGES, tmp_path / "images")
    before = {i: shard_dirs(copy, f"{i}/3") for i in (1, 2, 3)}
    shutil.rmtree(copy / "nginx-new")
    shutil.rmtree(copy / "httpd-new")
    after = {i: shard_dirs(copy, f"{i}/3") for i in (1, 2, 3)}
    assert {i: s - {"nginx-new", "httpd-new"} for i, s in before.items()} == after


def test_a_shard_builds_the_prerequisites_of_its_images():
    for i in (1, 2, 3):
        plan = load_plan(IMAGES, "example.invalid", Filters(shard=(i, 3)))
        needed = {t.image_dir for t in closure(plan, plan.targets())}
        mine = {im.spec.dir for im in plan.images}
        if "agnhost" in mine:
            assert {"busybox", "windows-servercore-cache"} <= needed
        assert mine <= needed


@pytest.mark.parametrize("bad", ["0/3", "4/3", "1", "a/b", "2/0"])
def test_bad_shard_is_a_plan_error(bad):
    with pytest.raises(PlanError):
        parse_shard(bad)


def test_plan_command_takes_shard(capsys):
    assert main(["plan", "--shard", "1/2", "--json", "--images-dir", str(IMAGES)]) == 0
    first = {i["dir"] for i in json.loads(capsys.readouterr().out)["images"]}
    assert main(["plan", "--shard", "2/2", "--json", "--images-dir", str(IMAGES)]) == 0
    second = {i["dir"] for i in json.loads(capsys.readouterr().out)["images"]}
    assert first and second and not first & second
    assert main(["plan", "--shard", "3/2", "--images-dir", str(IMAGES)]) == 2
