"""Options shared by the commands that read a catalog (plan, build, verify)."""

from __future__ import annotations

import argparse
import os

from e2e_images.plan import Filters, parse_shard
from e2e_images.workspace import DEFAULT_IMAGES_DIR, DEFAULT_REGISTRY


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_catalog_arguments(parser: argparse.ArgumentParser, *,
                          registry_default: str | None = DEFAULT_REGISTRY) -> None:
    parser.add_argument("what", nargs="*", metavar="WHAT",
                        help="image directories to include, or all-conformance (default: all)")
    parser.add_argument("--images-dir", default=os.environ.get("E2E_IMAGES_DIR",
                                                               DEFAULT_IMAGES_DIR),
                        help="the catalog root (default: ./images, or $E2E_IMAGES_DIR)")
    fallback = registry_default or "an embedded registry with the hermetic stand-ins"
    parser.add_argument("--registry", default=os.environ.get("REGISTRY", registry_default),
                        help=f"target registry (default: $REGISTRY or {fallback})")
    parser.add_argument("--os", choices=("linux", "windows"), help="only targets of this OS")
    parser.add_argument("--platform", action="append", default=[], metavar="PLATFORM",
                        help="only these platforms (os/arch or os/arch/osversion); repeatable, "
                             "comma-separated")
    parser.add_argument("--windows-versions", type=_csv, default=[], metavar="LIST",
                        help="only these Windows releases, e.g. 1809,ltsc2022")
    parser.add_argument("--shard", metavar="I/N", default=None,
                        help="only the I-th of N stable shares of the catalog's images "
                             "(by a hash of the image directory); prerequisites still build")


def filters_from(args: argparse.Namespace) -> Filters:
    platforms = tuple(p for item in args.platform for p in _csv(item))
    return Filters(what=tuple(args.what), os=args.os, platforms=platforms,
                   windows_versions=tuple(args.windows_versions),
                   shard=parse_shard(args.shard) if args.shard else None)
