"""`e2e-images gate`: the CI gate. Build (or take what is pushed), verify every list and
target, write results and JUnit, and the promotion proposal only when everything passed.

Exit 0 all passed; 1 a verification failed (or the proposal would move a tag); 2 bad input;
3 a build failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from e2e_images.build.builder import BACKENDS
from e2e_images.commands._common import add_catalog_arguments, filters_from
from e2e_images.commands.verify import add_judgement_arguments
from e2e_images.gate import EXIT_BUILD, EXIT_FAILED, GateOptions, run_gate
from e2e_images.oci import media_types as mt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_catalog_arguments(parser, registry_default=None)
    parser.add_argument("--no-build", action="store_true",
                        help="verify the images already pushed to the registry")
    parser.add_argument("--results", type=Path, default=Path("gate-results.json"),
                        metavar="FILE", help="per-image results as JSON, read by promote "
                                             "(default: ./gate-results.json)")
    parser.add_argument("--junit", type=Path, default=None, metavar="FILE",
                        help="JUnit XML report")
    parser.add_argument("--images-yaml", type=Path, default=None, metavar="FILE",
                        help="write the promotion proposal here when everything passed")
    parser.add_argument("--mirrors", metavar="FILE",
                        help="mirror map or KUBE_TEST_REPO_LIST-style registry overrides")
    parser.add_argument("--artifacts", metavar="FILE",
                        help="YAML map of ADD <url> prefixes to a mirror or a local directory")
    parser.add_argument("--mirror-config", type=Path, default=None, metavar="FILE",
                        help="staging-only mirrors (default: <images-dir>/staging-mirrors.yaml)")
    parser.add_argument("--builder", choices=BACKENDS, default="auto")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--fast", action="store_true",
                        help="verify configs and added layers only")
    parser.add_argument("--docker-list", action="store_true",
                        help="push Docker manifest lists instead of OCI indexes")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--storage", type=Path, default=None,
                        help="the embedded registry's storage (default: under the cache dir)")
    add_judgement_arguments(parser)


def run(args: argparse.Namespace) -> int:
    opts = GateOptions(
        images_dir=Path(args.images_dir), registry=args.registry, filters=filters_from(args),
        build=not args.no_build, jobs=args.jobs, builder=args.builder,
        mirrors_file=args.mirrors, artifacts_file=args.artifacts, cache=args.cache_dir,
        storage=args.storage,
        fast=args.fast, results=args.results, junit=args.junit, images_yaml=args.images_yaml,
        mirror_config=args.mirror_config, fail_on_warnings=args.fail_on_warnings,
        containerd_families=args.containerd_families,
        list_media_type=mt.DOCKER_MANIFEST_LIST if args.docker_list else None)
    outcome = run_gate(opts, progress=lambda m: print(m, file=sys.stderr, flush=True))
    failed = [i for i in outcome.results.images if not i.passed]
    passed = len(outcome.results.images) - len(failed)
    warnings = sum(len(i.warnings) for i in outcome.results.images)
    print(f"gate: {passed} of {len(outcome.results.images)} images passed ({warnings} "
          f"warnings); results in {args.results}", file=sys.stderr)
    if outcome.exit_code == EXIT_BUILD:
        print("gate: a build failed; no promotion proposal", file=sys.stderr)
    elif outcome.refused:
        print(f"gate: promotion refused: {outcome.refused}", file=sys.stderr)
    elif outcome.exit_code == EXIT_FAILED:
        print("gate: verification failed; no promotion proposal", file=sys.stderr)
    elif outcome.promotion is not None:
        new = sum(p.new for p in outcome.promotion.promotions)
        print(f"gate: proposal written to {args.images_yaml} ({new} new tags)",
              file=sys.stderr)
    return outcome.exit_code
