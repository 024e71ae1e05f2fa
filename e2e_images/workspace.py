"""Open a catalog on disk and plan it: the single entry point the CLI and pytest plugin share.

Everything that touches the disk or git for planning happens here, so `plan` stays pure.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from e2e_images.build.dockerfile import Listing, list_context
from e2e_images.build.dockerfile.precheck import check_dockerfile, with_generated
from e2e_images.catalog import cross_build_qemu, load_catalog, read_dockerfiles, render_dockerfile
from e2e_images.plan import Filters, GitInfo, Plan, make_plan
from e2e_images.platforms import build_platform

__all__ = ["DEFAULT_IMAGES_DIR", "DEFAULT_REGISTRY", "check_dockerfiles", "git_info",
           "load_plan", "source_date_epoch"]

DEFAULT_REGISTRY = "gcr.io/k8s-staging-e2e-test-images"
DEFAULT_IMAGES_DIR = "images"


def _git(args: list[str], cwd: Path) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                             check=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def _web_url(remote: str) -> str | None:
    """git@github.com:o/r.git, ssh://git@host/o/r or https://host/o/r.git -> https://host/o/r;
    None for anything that is not a web-reachable URL (a local path, file://, git://)."""
    m = re.match(r"^(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?$", remote)
    if m:
        return f"https://{m.group(1)}/{m.group(2)}"
    if re.match(r"^https?://[^/]+/.+", remote):
        return re.sub(r"\.git/?$", "", remote.rstrip("/"))
    return None


def git_info(images_dir: Path) -> GitInfo:
    """Label values: short commit (or GIT_COMMIT_ID, as upstream's CI sets), repo URL, path.

    The URL is $E2E_IMAGES_GIT_URL, else the `origin` remote as a web URL (labels then read
    `<url>/tree/<commit>/<path>`), else the checkout itself as a file:// URL, so a label is
    always a URL and never points at a repository the image did not come from.
    """
    commit = _git(["log", "-1", "--format=%h"], images_dir) or os.environ.get(
        "GIT_COMMIT_ID", "unknown")
    top = _git(["rev-parse", "--show-toplevel"], images_dir)
    url = os.environ.get("E2E_IMAGES_GIT_URL") or _web_url(
        _git(["remote", "get-url", "origin"], images_dir))
    images_path = (Path(images_dir).resolve().relative_to(Path(top).resolve()).as_posix()
                   if top else "test/images")
    if url:
        return GitInfo(commit=commit, url=url, images_path=images_path)
    if top:
        return GitInfo(commit=commit, url=Path(top).resolve().as_uri(), images_path=images_path,
                       web=False)
    return GitInfo(commit=commit, images_path=images_path)


def check_dockerfiles(plan: Plan, backend: str = "auto") -> None:
    """Parse and resolve every Dockerfile each target uses, as its build will read it: an
    unknown instruction, a RUN in a Windows stage (not for the legacy builder) or a COPY of a
    file the context will not hold fails here, naming file and line, before any build.
    Images whose Makefile has its own `bin` recipe get the COPY check after `make bin`."""
    listings: dict[Path, Listing] = {}
    build = build_platform()
    for target in plan.targets():
        raw = target.dockerfile.read_text()
        name = target.dockerfile.name
        listing = None
        if not target.go.needs_make:
            if target.context not in listings:
                listings[target.context] = list_context(target.context).listing
            qemu = cross_build_qemu(raw, target.platform, name)
            listing = with_generated(listings[target.context],
                                     [*target.go.srcs, *([qemu] if qemu else [])])
        check_dockerfile(render_dockerfile(raw, target.platform, name), str(target.dockerfile),
                         build_args=target.build_args, platform=target.platform, build=build,
                         listing=listing, runs_windows=backend == "legacy")


def load_plan(images_dir: Path | str, registry: str, filters: Filters | None = None, *,
              check: bool = True, backend: str = "auto") -> Plan:
    """The plan of the catalog at `images_dir`; with `check`, its Dockerfiles checked too."""
    catalog = load_catalog(images_dir)
    plan = make_plan(catalog, registry, filters=filters or Filters(),
                     dockerfiles=read_dockerfiles(catalog), git=git_info(catalog.root))
    if check:
        check_dockerfiles(plan, backend)
    return plan


def source_date_epoch(images_dir: Path | str) -> int:
    """$SOURCE_DATE_EPOCH, else the commit time of the catalog, else 0: every timestamp a
    build writes comes from here, so the same sources give the same digests."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    committed = _git(["log", "-1", "--format=%ct"], Path(images_dir))
    return int(committed) if committed.isdigit() else 0
