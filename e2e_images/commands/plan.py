"""`e2e-images plan`: the build matrix of a catalog, as a table or as the JSON contract."""

from __future__ import annotations

import argparse
import json
import sys

from e2e_images.commands._common import add_catalog_arguments, filters_from
from e2e_images.workspace import load_plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_catalog_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    plan = load_plan(args.images_dir, args.registry, filters_from(args))
    if args.json:
        json.dump(plan.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"build plan for {plan.registry}")
    for column in ("#", "image", "platform", "tag", "base image", "depends on"):
        table.add_column(column, overflow="fold")
    for n, image in enumerate(plan.images, 1):
        for i, target in enumerate(image.targets):
            table.add_row(str(n) if i == 0 else "", image.spec.dir if i == 0 else "",
                          target.platform.key, target.tag.rsplit("/", 1)[-1],
                          target.base_image or "-",
                          ", ".join(image.depends_on) if i == 0 else "")
    Console().print(table)
    print(f"{len(plan.images)} images, {len(plan.targets())} targets")
    return 0
