#!/usr/bin/env python3
"""Generate a catalog of RUN-less images for the scale benchmark (bench/scale.py).

Each image is five Linux platforms on the busybox stand-in and three Windows releases on
nanoserver (8 targets, one list), a Dockerfile that only COPYs a small payload of its own and
sets a label, and an expectations.yaml the image suite checks; 40 images make 320 targets.
The same arguments always write the same bytes, so builds of it are reproducible.

    .venv/bin/python bench/gen_catalog.py DIR [--images 40]
"""

from __future__ import annotations

import argparse
from pathlib import Path

LINUX = ("amd64", "arm", "arm64", "ppc64le", "s390x")
WINDOWS = ("1809", "ltsc2022", "ltsc2025")
TARGETS_PER_IMAGE = len(LINUX) + len(WINDOWS)

DOCKERFILE = """\
ARG BASEIMAGE
FROM $BASEIMAGE
COPY payload/ /payload/
LABEL bench.image="{name}"
"""

EXPECTATIONS = """\
schemaVersion: "1.0.0"
all:
  fileExistence:
    - {{path: /payload/{name}.txt}}
  metadata:
    labels: {{image_version: "$(VERSION)", commit_id: "*", git_url: "*"}}
windows:
  rootImage: nanoserver
  sizeLimits: {{addedBytes: 64KiB}}
"""


def baseimage() -> str:
    lines = [f"linux/{arch}=docker.io/library/busybox:1.36.1" for arch in LINUX]
    lines += [f"windows/amd64/{r}=mcr.microsoft.com/windows/nanoserver:{r}" for r in WINDOWS]
    return "\n".join(lines) + "\n"


def generate(root: Path, images: int = 40) -> list[str]:
    """Write `images` image directories under `root`; returns their names."""
    names = []
    for n in range(images):
        name = f"bench-{n:03d}"
        d = root / name
        (d / "payload").mkdir(parents=True, exist_ok=True)
        (d / "VERSION").write_text("1.0\n")
        (d / "BASEIMAGE").write_text(baseimage())
        (d / "Dockerfile").write_text(DOCKERFILE.format(name=name))
        (d / "expectations.yaml").write_text(EXPECTATIONS.format(name=name))
        (d / "payload" / f"{name}.txt").write_text(f"{name}\n" * (n + 1))
        names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--images", type=int, default=40)
    args = parser.parse_args(argv)
    names = generate(args.dir, args.images)
    print(f"{len(names)} images, {len(names) * TARGETS_PER_IMAGE} targets in {args.dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
