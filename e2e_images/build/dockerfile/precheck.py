"""What `plan` checks in a target's Dockerfile before anything is built.

Pure: the caller reads the (rendered) text and lists the context. An unknown instruction
fails in the parser; here a RUN in a Windows stage (no native builder can run it) and a
COPY/ADD source that the context will not hold are refused, naming file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from e2e_images.build.dockerfile.commands import Add, Copy, Run
from e2e_images.build.dockerfile.context import Entry, Listing, resolve_sources
from e2e_images.build.dockerfile.instructions import parse_dockerfile
from e2e_images.build.dockerfile.resolve import resolve
from e2e_images.build.dockerfile.resolved import ResolvedDockerfile
from e2e_images.errors import DockerfileError
from e2e_images.platforms import Platform

__all__ = ["check_copy_sources", "check_dockerfile", "with_generated"]


def with_generated(listing: Listing, names: Iterable[str]) -> Listing:
    """The listing plus files the build writes into the context first (Go payloads, qemu)."""
    present = {e.path for e in listing.entries}
    extra = tuple(Entry(n, "file") for n in names if n not in present)
    return Listing(listing.entries + extra, listing.ignored)


def check_copy_sources(resolved: ResolvedDockerfile, listing: Listing) -> None:
    """Every context source of a needed stage's COPY/ADD exists in `listing`."""
    for stage in resolved.stages:
        if not stage.needed:
            continue
        for step in stage.steps:
            cmd = step.instruction
            if isinstance(cmd, Add) or (isinstance(cmd, Copy) and cmd.from_ is None):
                resolve_sources(cmd, listing, workdir=step.workdir)


def check_dockerfile(text: str, path: str, *, build_args: Mapping[str, str],
                     platform: Platform, build: Platform, listing: Listing | None,
                     runs_windows: bool = False) -> ResolvedDockerfile:
    """Parse and resolve for `platform`; `listing=None` skips the COPY check (an image whose
    `make bin` fills the context is checked after it ran). `runs_windows`: the legacy
    builder, which runs RUN on a Windows daemon."""
    resolved = resolve(parse_dockerfile(text, path), build_args=build_args, target=platform,
                       build=build)
    for stage in resolved.stages:
        if not (stage.needed and stage.platform.is_windows and stage.has_run) or runs_windows:
            continue
        line = next((s.instruction.loc.line for s in stage.steps
                     if isinstance(s.instruction, Run)), stage.line)
        raise DockerfileError(f"RUN in a Windows stage ({stage.platform.key}): no native "
                              "builder runs Windows commands", path=path, line=line,
                              hint="move the work into a `FROM --platform=linux/amd64 ... "
                                   "AS prep` stage and COPY --from=prep, or build with "
                                   "--builder legacy on Windows daemons")
    if listing is not None:
        check_copy_sources(resolved, listing)
    return resolved
