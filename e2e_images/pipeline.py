"""Build a whole plan, then publish its lists: dependency levels in order, the targets of a
level in parallel.

A target that fails does not stop the others; its image gets no manifest list and the images
built on it are skipped (their base would be missing). A list is pushed only after all its
children are built and confirmed, so an interrupted run never leaves a list pointing at a
missing child, and a re-run completes it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from e2e_images.build.builder import (
    BuildEnv,
    TargetBuild,
    build_target,
    record_push,
    unchanged_manifest,
)
from e2e_images.build.fingerprint import list_fingerprint
from e2e_images.errors import E2EImagesError
from e2e_images.oci import media_types as mt
from e2e_images.oci.models import Index
from e2e_images.plan import BuildTarget, ImagePlan, Plan
from e2e_images.publish.manifest_list import PublishedList, publish_list
from e2e_images.registry.reference import parse_reference

__all__ = ["ImageOutcome", "RunReport", "TargetOutcome", "build_plan", "levels"]

Progress = Callable[[str, BuildTarget | ImagePlan, str], None]


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    target: BuildTarget
    build: TargetBuild | None = None
    error: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """Built, or left out on purpose (legacy mode: no builder for its release)."""
        return self.build is not None or (self.skipped or "").startswith("skipped:")


@dataclass(frozen=True, slots=True)
class ImageOutcome:
    image: ImagePlan
    published: PublishedList | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunReport:
    targets: tuple[TargetOutcome, ...]
    images: tuple[ImageOutcome, ...]

    @property
    def ok(self) -> bool:
        """Everything built, except what legacy mode skipped for want of a builder."""
        return all(t.ok for t in self.targets) and \
            all(i.error is None or i.error.startswith("skipped:") for i in self.images)


def levels(plan: Plan) -> list[list[ImagePlan]]:
    """Images grouped so each depends only on images of earlier groups."""
    depth: dict[str, int] = {}
    for image in plan.images:  # plan order is already topological
        deps = [depth[d] for d in image.depends_on if d in depth]
        depth[image.spec.dir] = 1 + max(deps, default=-1)
    out: list[list[ImagePlan]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for image in plan.images:
        out[depth[image.spec.dir]].append(image)
    return out


def _quiet(kind: str, subject: BuildTarget | ImagePlan, detail: str) -> None:
    pass


def build_plan(plan: Plan, env: BuildEnv, *, jobs: int = 2, progress: Progress = _quiet,
               list_media_type: str = mt.OCI_INDEX) -> RunReport:
    outcomes: dict[str, TargetOutcome] = {}
    images: list[ImageOutcome] = []
    failed: set[str] = set()

    def one(target: BuildTarget) -> TargetOutcome:
        progress("start", target, "")
        try:
            result = build_target(target, env)
        except E2EImagesError as exc:
            progress("fail", target, str(exc))
            return TargetOutcome(target, error=str(exc))
        except Exception as exc:  # OSError and the like: this target fails, not the run
            why = f"{type(exc).__name__}: {exc}"
            progress("fail", target, why)
            return TargetOutcome(target, error=why)
        progress("done", target, result.digest)
        return TargetOutcome(target, build=result)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for level in levels(plan):
            runnable, blocked = [], []
            for image in level:
                missing = [d for d in image.depends_on if d in failed]
                (blocked if missing else runnable).append((image, missing))
            for image, missing in blocked:
                failed.add(image.spec.dir)
                why = f"not built: depends on failed {', '.join(missing)}"
                for target in image.targets:
                    outcomes[target.id] = TargetOutcome(target, skipped=why)
                    progress("skip", target, why)
                images.append(ImageOutcome(image, error=why))
            runnable = [(_buildable(image, env, outcomes, progress), m) for image, m in runnable]
            for image, _ in runnable:
                if not image.targets:  # legacy mode: no daemon for any of its releases
                    failed.add(image.spec.dir)
                    images.append(ImageOutcome(image, error="skipped: no builder for any target"))
            runnable = [(image, m) for image, m in runnable if image.targets]
            futures = {t.id: pool.submit(one, t) for image, _ in runnable for t in image.targets}
            for image, _ in runnable:
                results = [futures[t.id].result() for t in image.targets]
                outcomes.update((r.target.id, r) for r in results)
                if any(r.build is None for r in results):
                    failed.add(image.spec.dir)
                    images.append(ImageOutcome(image, error="a target failed; no list pushed"))
                    continue
                if not image.has_list:
                    progress("list", image, "per-platform tags only (entries not distinct)")
                    images.append(ImageOutcome(image))
                    continue
                images.append(_publish(image, env, list_media_type, progress, results))
                if images[-1].published is None:
                    failed.add(image.spec.dir)
    return RunReport(tuple(outcomes[t.id] for t in plan.targets() if t.id in outcomes),
                     tuple(images))


def _buildable(image: ImagePlan, env: BuildEnv, outcomes: dict[str, TargetOutcome],
               progress: Progress) -> ImagePlan:
    """In legacy mode a Windows release without a REMOTE_DOCKER_URL has no builder: its
    targets are skipped and left out of the list; the rest of the image still builds."""
    if env.backend != "legacy":
        return image
    kept = []
    for target in image.targets:
        release = target.platform.release
        if target.platform.is_windows and release not in env.daemons:
            why = f"skipped: no builder for {release} (REMOTE_DOCKER_URL_{release} unset)"
            outcomes[target.id] = TargetOutcome(target, skipped=why)
            progress("skip", target, why)
        else:
            kept.append(target)
    return replace(image, targets=tuple(kept))


def _publish(image: ImagePlan, env: BuildEnv, media_type: str, progress: Progress,
             children: list[TargetOutcome]) -> ImageOutcome:
    """Push the list; when the tag still holds the list built from these very children, read
    it back instead of re-reading every child (a no-op re-run stays a few requests)."""
    ref = parse_reference(image.list_tag)
    client = env.pool.client(ref.registry)
    key = list_fingerprint(media_type, [(t.target.platform.key, t.build.digest if t.build
                                         else None) for t in children])
    try:
        current = unchanged_manifest(env, image.list_tag, key)
        if isinstance(current, Index):
            published = PublishedList(str(ref), current, pushed=False)
        else:
            published = publish_list(client, image.list_tag, [t.tag for t in image.targets],
                                     media_type=media_type)
            record_push(env, image.list_tag, key, published.index.digest)
    except E2EImagesError as exc:
        progress("fail", image, str(exc))
        return ImageOutcome(image, error=str(exc))
    progress("list", image, published.index.digest)
    return ImageOutcome(image, published=published)
