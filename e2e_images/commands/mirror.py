"""`e2e-images mirror`: copy upstream images into staging, digests preserved (staging-only)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from e2e_images.errors import E2EImagesError
from e2e_images.publish.mirror import MIRROR_CONFIG, load_mirror_config, mirror_images
from e2e_images.session import default_cache, open_session
from e2e_images.workspace import DEFAULT_IMAGES_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help=f"the mirror list (default: <images-dir>/{MIRROR_CONFIG})")
    parser.add_argument("--images-dir", default=os.environ.get("E2E_IMAGES_DIR",
                                                               DEFAULT_IMAGES_DIR))
    parser.add_argument("--registry", default=os.environ.get("REGISTRY"),
                        help="the staging registry (default: $REGISTRY, else the embedded "
                             "registry with the hermetic stand-ins as upstream)")
    parser.add_argument("--mirrors", metavar="FILE",
                        help="how to reach upstream: mirror map or KUBE_TEST_REPO_LIST-style "
                             "overrides (with --registry)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--storage", type=Path, default=None,
                        help="the embedded registry's storage (default: under the cache dir)")


def run(args: argparse.Namespace) -> int:
    path = args.config or Path(args.images_dir) / MIRROR_CONFIG
    if not path.is_file():
        raise E2EImagesError(f"no mirror config at {path}", hint="pass --config FILE")
    config = load_mirror_config(path)
    with open_session(registry=args.registry, cache=args.cache_dir or default_cache(), epoch=0,
                      mirrors_file=args.mirrors, storage=args.storage) as session:
        results = mirror_images(config, session.env.pool, session.registry)
    for r in results:
        state = "copied   " if r.pushed else "unchanged"
        print(f"{state} {r.destination} {r.digest} (from {r.source})")
    pushed = sum(r.pushed for r in results)
    print(f"{len(results)} mirrors, {pushed} copied; staging-only, never promoted",
          file=sys.stderr)
    return 0
