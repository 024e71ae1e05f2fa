"""Open a catalog on disk and plan it: the single entry point the CLI and pytest plugin share.

Everything that touches the disk or git for planning happens here, so `plan` stays pure.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from e2e_images.catalog import load_catalog, read_dockerfiles
from e2e_images.plan import Filters, GitInfo, Plan, make_plan

__all__ = ["DEFAULT_IMAGES_DIR", "DEFAULT_REGISTRY", "git_info", "load_plan",
           "source_date_epoch"]

DEFAULT_REGISTRY = "gcr.io/k8s-staging-e2e-test-images"
DEFAULT_IMAGES_DIR = "images"


def _git(args: list[str], cwd: Path) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                             check=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def _web_url(remote: str) -> str:
    """git@github.com:o/r.git or https://github.com/o/r.git -> https://github.com/o/r."""
    m = re.match(r"^(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?$", remote)
    if m:
        return f"https://{m.group(1)}/{m.group(2)}"
    return re.sub(r"\.git$", "", remote)


def git_info(images_dir: Path) -> GitInfo:
    """Label values: short commit (or GIT_COMMIT_ID, as upstream's CI sets), repo URL, path.

    The URL is $E2E_IMAGES_GIT_URL, else the `origin` remote as a web URL, else the checkout
    itself as a file:// URL, so a label never points at a repository the image did not come from.
    """
    commit = _git(["log", "-1", "--format=%h"], images_dir) or os.environ.get(
        "GIT_COMMIT_ID", "unknown")
    top = _git(["rev-parse", "--show-toplevel"], images_dir)
    url = os.environ.get("E2E_IMAGES_GIT_URL") or _web_url(
        _git(["remote", "get-url", "origin"], images_dir))
    images_path = (Path(images_dir).resolve().relative_to(Path(top).resolve()).as_posix()
                   if top else "test/images")
    if not url:
        url = f"file://{top}" if top else "https://github.com/kubernetes/kubernetes"
    return GitInfo(commit=commit, url=url, images_path=images_path)


def load_plan(images_dir: Path | str, registry: str, filters: Filters | None = None) -> Plan:
    catalog = load_catalog(images_dir)
    return make_plan(catalog, registry, filters=filters or Filters(),
                     dockerfiles=read_dockerfiles(catalog), git=git_info(catalog.root))


def source_date_epoch(images_dir: Path | str) -> int:
    """$SOURCE_DATE_EPOCH, else the commit time of the catalog, else 0: every timestamp a
    build writes comes from here, so the same sources give the same digests."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    committed = _git(["log", "-1", "--format=%ct"], Path(images_dir))
    return int(committed) if committed.isdigit() else 0
