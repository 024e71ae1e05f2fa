"""The CI gate: build (or take what is pushed), verify every list and target, report, and
write the promotion proposal only when everything passed.

Exit codes (documented in README.md, "`gate`: the one command for CI"):
    0  every image built and passed verification (and the proposal, if asked, was written)
    1  a verification failed, or the proposal would move a tag
    2  bad input (catalog, mirror map, images.yaml, options)
    3  a build failed (what did build is still verified and reported)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from e2e_images.audit import VerifyOptions, verify
from e2e_images.errors import E2EImagesError, PromotionRefused
from e2e_images.pipeline import RunReport, build_plan
from e2e_images.plan import Filters, ImagePlan
from e2e_images.publish.junit import write_junit
from e2e_images.publish.mirror import MIRROR_CONFIG, MirrorConfig, load_mirror_config
from e2e_images.publish.policy import load_policy
from e2e_images.publish.promote import PromotionPlan, promote
from e2e_images.publish.results import GateResults, ImageResult, write_results
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import parse_reference
from e2e_images.session import default_cache, open_session
from e2e_images.verify.result import Finding
from e2e_images.workspace import load_plan, source_date_epoch

__all__ = ["EXIT_BUILD", "EXIT_FAILED", "EXIT_INPUT", "EXIT_OK", "GateOptions", "GateOutcome",
           "run_gate", "verify_image_plan"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_BUILD = 0, 1, 2, 3

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class GateOptions:
    images_dir: Path
    registry: str | None = None  # None: the embedded registry with the hermetic stand-ins
    filters: Filters = field(default_factory=Filters)
    build: bool = True
    jobs: int = 2
    builder: str = "auto"
    mirrors_file: str | None = None  # mirror map or KUBE_TEST_REPO_LIST-style overrides
    artifacts_file: str | None = None  # --artifacts: where ADD <url> downloads come from
    cache: Path | None = None
    storage: Path | None = None
    fast: bool = False
    results: Path | None = None
    junit: Path | None = None
    images_yaml: Path | None = None
    mirror_config: Path | None = None  # staging-only mirrors (default: the catalog's)
    list_media_type: str | None = None
    fail_on_warnings: bool = False  # warnings fail the gate (and so block promotion)
    containerd_families: frozenset[str] | None = None  # gating families; None: the default


@dataclass(frozen=True, slots=True)
class GateOutcome:
    results: GateResults
    exit_code: int
    build: RunReport | None = None
    promotion: PromotionPlan | None = None
    refused: str | None = None  # the tag-move refusal, when the proposal was refused


def _quiet(message: str) -> None:
    pass


def verify_image_plan(pool: ClientPool, image: ImagePlan, *,
                      options: VerifyOptions | None = None, fail_on_warnings: bool = False
                      ) -> ImageResult:
    """The list checks and every child's checks (or each per-platform tag when the image
    publishes no list), folded into one result; warnings fail only with `fail_on_warnings`."""
    name, version = image.spec.name, image.spec.version
    targets: list[tuple[str, str]] = []
    try:
        for t in image.targets:
            ref = parse_reference(t.tag)
            held = pool.client(ref.registry).head_manifest(ref.repository, ref.ref)
            targets.append((t.tag, held.digest if held is not None else ""))
        missing = [tag for tag, digest in targets if not digest]
        if missing:
            return ImageResult(image.spec.dir, name, version, image.list_tag, None, False,
                               error=f"not in the registry: {', '.join(missing)}",
                               targets=tuple(targets))
        digest = None
        if image.has_list:
            ref = parse_reference(image.list_tag)
            held = pool.client(ref.registry).head_manifest(ref.repository, ref.ref)
            if held is None:
                return ImageResult(image.spec.dir, name, version, image.list_tag, None, False,
                                   error=f"no manifest list at {image.list_tag}",
                                   targets=tuple(targets))
            digest = held.digest
        report = verify(pool, image, options=options)
    except E2EImagesError as exc:
        return ImageResult(image.spec.dir, name, version, image.list_tag, None, False,
                           error=f"verification could not run: {exc}", targets=tuple(targets))
    findings: tuple[Finding, ...] = report.findings
    return ImageResult(image.spec.dir, name, version, image.list_tag, digest,
                       report.ok(fail_on_warnings=fail_on_warnings), findings=findings,
                       targets=tuple(targets), info=report.info)


def _build_failures(report: RunReport) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in report.targets:
        if t.build is None:
            out.setdefault(t.target.image_dir, f"{t.target.id}: {t.error or t.skipped}")
    for i in report.images:
        if i.error is not None:
            out.setdefault(i.image.spec.dir, i.error)
    return out


def run_gate(opts: GateOptions, progress: Progress = _quiet) -> GateOutcome:
    """Raises E2EImagesError for bad input (exit 2 via the CLI); everything else is in the
    outcome's exit code."""
    started = time.monotonic()
    cache = opts.cache or default_cache()
    mirrors_cfg: MirrorConfig | None = None
    cfg_path = opts.mirror_config or (opts.images_dir / MIRROR_CONFIG)
    if opts.mirror_config is not None or cfg_path.is_file():
        mirrors_cfg = load_mirror_config(cfg_path)
    policy = load_policy(opts.images_dir)
    build_report: RunReport | None = None
    with open_session(
            registry=opts.registry, cache=cache, epoch=source_date_epoch(opts.images_dir),
            backend=opts.builder, mirrors_file=opts.mirrors_file, storage=opts.storage,
            artifacts_file=opts.artifacts_file) as session:
        plan = load_plan(opts.images_dir, session.registry, opts.filters, backend=opts.builder)
        if not plan.images:
            raise E2EImagesError("nothing to gate: the filters select no image")
        failed: dict[str, str] = {}
        if opts.build:
            progress(f"building {len(plan.targets())} targets of {len(plan.images)} images "
                     f"into {session.registry}")
            kwargs = {"list_media_type": opts.list_media_type} if opts.list_media_type else {}
            build_report = build_plan(plan, session.env, jobs=opts.jobs, **kwargs)
            failed = _build_failures(build_report)
        pool = session.env.pool
        options = VerifyOptions(fast=opts.fast, **(
            {"gating": opts.containerd_families} if opts.containerd_families else {}))
        images: list[ImageResult] = []
        for image in plan.images:
            if image.spec.dir in failed:
                images.append(ImageResult(image.spec.dir, image.spec.name, image.spec.version,
                                          image.list_tag, None, False,
                                          error=f"build failed: {failed[image.spec.dir]}"))
                progress(f"FAIL  {image.list_tag}: build failed")
                continue
            result = verify_image_plan(pool, image, options=options,
                                       fail_on_warnings=opts.fail_on_warnings)
            images.append(result)
            state = "ok  " if result.passed else "FAIL"
            detail = result.error or (f"{len(result.errors)} errors, "
                                      f"{len(result.warnings)} warnings")
            progress(f"{state}  {image.list_tag}: {detail}")
            for f in result.findings:
                progress(f"      {f.line()}")
        results = GateResults(plan.registry, tuple(images), built=opts.build)
        if opts.results is not None:
            write_results(opts.results, results)
        if opts.junit is not None:
            write_junit(opts.junit, results, seconds=time.monotonic() - started)
        if failed:
            return GateOutcome(results, EXIT_BUILD, build_report)
        if not results.passed:
            return GateOutcome(results, EXIT_FAILED, build_report)
        if opts.images_yaml is None:
            return GateOutcome(results, EXIT_OK, build_report)
        try:
            promotion = promote(results, opts.images_yaml, pool, policy=policy,
                                mirrors=mirrors_cfg)
        except PromotionRefused as exc:
            return GateOutcome(results, EXIT_FAILED, build_report, refused=str(exc))
        return GateOutcome(results, EXIT_OK, build_report, promotion)

