"""`e2e-images promote`: images.yaml entries for what the last gate run verified; with
`--confirm`, the copies to the destination registry too. Exit 1 on a tag move."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from e2e_images.publish.mirror import MIRROR_CONFIG, load_mirror_config
from e2e_images.publish.policy import load_policy
from e2e_images.publish.promote import promote
from e2e_images.publish.results import read_results
from e2e_images.registry.pool import ClientPool
from e2e_images.workspace import DEFAULT_IMAGES_DIR

DEFAULT_RESULTS = "gate-results.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images-yaml", type=Path, default=Path("images.yaml"), metavar="FILE",
                        help="the promoter manifest to update (default: ./images.yaml)")
    parser.add_argument("--results", type=Path, default=Path(DEFAULT_RESULTS), metavar="FILE",
                        help=f"the gate's results file (default: ./{DEFAULT_RESULTS})")
    parser.add_argument("--from", dest="source", default=None, metavar="REG",
                        help="the staging registry (default: the one the gate verified)")
    parser.add_argument("--to", default=None, metavar="REG",
                        help="the destination registry: its tags are checked; --confirm "
                             "copies into it")
    parser.add_argument("--confirm", action="store_true",
                        help="copy each list and its children by digest, then write "
                             "images.yaml (default: a dry run, registries untouched)")
    parser.add_argument("--images-dir", default=os.environ.get("E2E_IMAGES_DIR",
                                                               DEFAULT_IMAGES_DIR),
                        help="the catalog (for promotion.yaml and staging-mirrors.yaml)")
    parser.add_argument("--mirror-config", type=Path, default=None, metavar="FILE",
                        help=f"staging-only mirrors (default: <images-dir>/{MIRROR_CONFIG})")


def run(args: argparse.Namespace) -> int:
    results = read_results(args.results)
    images_dir = Path(args.images_dir)
    cfg = args.mirror_config or images_dir / MIRROR_CONFIG
    mirrors = load_mirror_config(cfg) if args.mirror_config or cfg.is_file() else None
    pool = ClientPool()
    plan = promote(results, args.images_yaml, pool, policy=load_policy(images_dir),
                   mirrors=mirrors, source=args.source, to=args.to, confirm=args.confirm,
                   progress=lambda m: print(m, file=sys.stderr))
    for p in plan.promotions:
        state = "proposed" if p.new else "present "
        print(f"{state} {p.name}:{p.tag} {p.digest}")
    for s in plan.skipped:
        print(f"skipped  {s.name}:{s.tag}: {s.reason}")
    what = "promoted" if args.confirm else "proposed (dry run; --confirm to copy)"
    print(f"{sum(p.new for p in plan.promotions)} new tags {what}; {args.images_yaml}",
          file=sys.stderr)
    return 0
