"""`e2e-images build`: build, push and list every planned target; a table at the end."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from e2e_images.build.builder import BACKENDS
from e2e_images.commands._common import add_catalog_arguments, filters_from
from e2e_images.oci import media_types as mt
from e2e_images.pipeline import DEFAULT_JOBS, Pipeline, RunReport, check_host, closure
from e2e_images.session import default_cache, open_session
from e2e_images.workspace import load_plan, source_date_epoch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_catalog_arguments(parser, registry_default=None)
    parser.add_argument("--builder", choices=BACKENDS, default="auto",
                        help="auto: native for stages without RUN, buildah otherwise")
    parser.add_argument("-j", "--jobs", type=int, default=DEFAULT_JOBS,
                        help=f"targets built at once (default {DEFAULT_JOBS})")
    parser.add_argument("--mirrors", metavar="FILE",
                        help="YAML map of upstream registries to mirrors (with --registry)")
    parser.add_argument("--artifacts", metavar="FILE",
                        help="YAML map of ADD <url> prefixes to a mirror or a local directory "
                             "(README: --artifacts)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="Go, buildah and staging caches (default: ~/.cache/e2e-images)")
    parser.add_argument("--docker-list", action="store_true",
                        help="push Docker manifest lists instead of OCI indexes")
    parser.add_argument("--storage", type=Path, default=None,
                        help="the embedded registry's storage, kept between runs "
                             "(default: under the cache dir)")
    parser.add_argument("--narrow-lists", action="store_true",
                        help="push each list with only the platforms the registry holds, "
                             "even if that drops some (default: a list missing a platform "
                             "is not pushed, and the old one stays)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="also write the results as JSON")


def report_json(report: RunReport) -> dict[str, object]:
    return {
        "ok": report.ok,
        "targets": [{
            "id": t.target.id, "tag": t.target.tag,
            "digest": t.build.digest if t.build else None,
            "pushed": t.build.pushed if t.build else None,
            "bytes_pushed": t.build.bytes_pushed if t.build else None,
            "backend": t.build.backend if t.build else None,
            "error": t.error, "skipped": t.skipped} for t in report.targets],
        "lists": [{
            "dir": i.image.spec.dir, "tag": i.image.list_tag,
            "digest": i.published.index.digest if i.published else None,
            "pushed": i.published.pushed if i.published else None,
            "missing": list(i.missing),
            "error": i.error} for i in report.images],
    }


def print_report(report: RunReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="build results")
    for column in ("target", "result", "digest", "bytes pushed", "seconds"):
        table.add_column(column, overflow="fold")
    # Unchanged targets and lists fold into one row each: a no-op run of a large catalog
    # would otherwise spend a second drawing hundreds of identical rows.
    same = [t for t in report.targets if t.build is not None and not t.build.pushed]
    same_lists = [i for i in report.images if i.published and not i.published.pushed]
    if same:
        table.add_row(f"{len(same)} targets", "unchanged", "", "0", "")
    if same_lists:
        table.add_row(f"{len(same_lists)} lists", "unchanged", "", "", "")
    for t in report.targets:
        if t.build is not None and not t.build.pushed:
            continue
        if t.build is not None:
            b = t.build
            pushed = "-" if b.bytes_pushed < 0 else f"{b.bytes_pushed:,}"
            table.add_row(t.target.id, "built", b.digest[:19],
                          pushed, f"{b.seconds:.1f}")
        else:
            table.add_row(t.target.id, "[red]failed[/]" if t.error else "[yellow]skipped[/]",
                          t.skipped or "", "", "")
    for i in report.images:
        if i.published and not i.published.pushed:
            continue  # unchanged: folded with the unchanged targets
        status = (i.published.index.digest[:19] if i.published else i.error or
                  (f"missing {len(i.missing)} tags" if i.missing else "per-platform tags only"))
        result = ("[red]failed[/]" if i.error else "[yellow]not pushed[/]" if i.missing
                  else "listed")
        table.add_row(f"{i.image.list_tag.rsplit('/', 1)[-1]} (list)", result, status, "", "")
    Console(width=max(120, Console().width)).print(table)


def run(args: argparse.Namespace) -> int:
    images = Path(args.images_dir)
    cache = args.cache_dir or default_cache()
    epoch = source_date_epoch(images)
    lock = threading.Lock()

    def progress(kind: str, subject: object, detail: str) -> None:
        name = getattr(subject, "id", None) or subject.spec.dir  # type: ignore[attr-defined]
        if kind == "list" and detail.startswith("list "):
            return  # an incomplete list: said once, at the end
        if kind in ("start", "done") or (kind == "list" and not detail.startswith("sha")):
            line = f"{kind:5} {name} {detail[:19] if kind == 'done' else detail}"
        else:
            line = f"{kind:5} {name} {detail}"
        with lock:
            print(line, file=sys.stderr, flush=True)

    filters = filters_from(args)
    preflight = load_plan(images, args.registry or "preflight.invalid", filters, check=False)
    check_host(closure(preflight, preflight.targets()), args.builder)  # before anything starts
    with open_session(registry=args.registry, cache=cache, epoch=epoch, backend=args.builder,
                      mirrors_file=args.mirrors, storage=args.storage,
                      artifacts_file=args.artifacts) as session:
        plan = load_plan(images, session.registry, filters, backend=args.builder)
        for warning in plan.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        where = "embedded registry (hermetic stand-ins)" if session.hermetic else "registry"
        needed = len(closure(plan, plan.targets())) - len(plan.targets())
        print(f"building {len(plan.targets())} targets of {len(plan.images)} images "
              f"(+{needed} they build on) into {where} {session.registry}", file=sys.stderr)
        report = Pipeline(plan, session.env, jobs=args.jobs, progress=progress,
                          list_media_type=mt.DOCKER_MANIFEST_LIST if args.docker_list
                          else mt.OCI_INDEX, narrow_lists=args.narrow_lists).run()
    print_report(report)
    for image in report.images:
        if image.notice:
            print(f"notice: {image.notice}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(report_json(report), indent=2) + "\n")
    failed = [t for t in report.targets if not t.ok]
    if failed or not report.ok:
        print(f"{len(failed)} of {len(report.targets)} targets failed or blocked",
              file=sys.stderr)
        return 1
    return 0
