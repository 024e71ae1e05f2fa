"""The one build pipeline: what the CLI, the gate and the pytest plugin all drive.

A `Pipeline` answers two questions, each once per run: "this target, built and pushed" and
"this image's list, pushed". A target is built after the targets it reads (its catalog
prerequisites for the same platform or Windows release, taken from the unfiltered plan, so
a filter never drops one). `run()` schedules every requested target by its own
prerequisites (no level barriers: a target starts as soon as what it reads is pushed, a list
as soon as its children are); the plugin asks target by target, with `once` recording each
answer for every xdist worker.

Lists are never narrowed by a filter: a list holds every platform the catalog gives the
image. Entries the run did not build are taken from their per-platform tags when the
registry holds what the current inputs produce (`builder.current_digest`); if one is
missing, the list is not pushed, the old list stays, and the outcome names the missing tags.
`narrow_lists` is the deliberate opposite: push a list of what is there.

A target that fails does not stop the others; its image gets no list and the targets built
on it are skipped. A list is pushed only after all its children are confirmed, so an
interrupted run never leaves a list pointing at a missing child.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from e2e_images.build.builder import (
    BuildEnv,
    TargetBuild,
    build_target,
    current_digest,
    record_push,
    unchanged_manifest,
)
from e2e_images.build.fingerprint import list_fingerprint
from e2e_images.catalog import read_text, render_dockerfile
from e2e_images.errors import E2EImagesError
from e2e_images.host import ensure_binfmt
from e2e_images.oci import media_types as mt
from e2e_images.oci.models import Descriptor, Index
from e2e_images.plan import BuildTarget, ImagePlan, Plan
from e2e_images.platforms import build_platform
from e2e_images.publish.manifest_list import ListChild, PublishedList, publish_list
from e2e_images.registry.reference import parse_reference

__all__ = ["DEFAULT_JOBS", "ImageOutcome", "Once", "Pipeline", "RunReport", "TargetOutcome",
           "build_plan", "check_host", "closure"]

Progress = Callable[[str, BuildTarget | ImagePlan, str], None]
# key, produce -> the recorded value; `run_state.SharedResults.get_or_produce` is one.
Once = Callable[[str, Callable[[], dict[str, Any]]], dict[str, Any]]
_RUN = re.compile(r"(?im)^\s*RUN\b")
# Targets at once. Most of a target's time is waiting (registry round trips, process
# start-up), not CPU: on 2 cores the catalog's cold build takes 23.5 s at 4, 29.8 s at 2.
DEFAULT_JOBS = 4


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
    missing: tuple[str, ...] = ()  # per-platform tags the list needs and the registry lacks

    @property
    def notice(self) -> str | None:
        """Why a list that could not be completed was not pushed, and how to complete it."""
        if not self.missing:
            return None
        version = f"{self.image.spec.version}-"
        keys = [t.rsplit(":", 1)[-1].removeprefix(version).replace("-", "/")
                for t in self.missing]
        tags = ", ".join(t.rsplit("/", 1)[-1] for t in self.missing)
        return (f"list {self.image.list_tag} not pushed (a list already there stays): "
                f"missing from the registry: {tags}; build them with `e2e-images build "
                f"{self.image.spec.dir} --platform {','.join(keys)}`, or pass --narrow-lists "
                "to push a list of only what is there")


@dataclass(frozen=True, slots=True)
class RunReport:
    targets: tuple[TargetOutcome, ...]
    images: tuple[ImageOutcome, ...]

    @property
    def ok(self) -> bool:
        """Every target built (or was left out on purpose) and no list failed. A list that
        could not be completed is a notice, not a failure: see `complete`."""
        return all(t.ok for t in self.targets) and all(i.error is None for i in self.images)

    @property
    def complete(self) -> bool:
        """ok, and every list was pushed in full (what the gate requires)."""
        return self.ok and not any(i.missing for i in self.images)


def _quiet(kind: str, subject: BuildTarget | ImagePlan, detail: str) -> None:
    pass


class _Memo:
    """The in-process `Once`: each key produced once, concurrent askers wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, threading.Lock] = {}
        self._values: dict[str, dict[str, Any]] = {}

    def __call__(self, key: str, produce: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            lock = self._keys.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = produce()
            return self._values[key]


def _entry_json(entry: Descriptor | None) -> dict[str, Any] | None:
    return entry.to_dict() if entry is not None else None


class Pipeline:
    """One run over `plan` (its `images` are what was asked for; `complete` supplies the
    prerequisites and every list's entries)."""

    def __init__(self, plan: Plan, env: BuildEnv, *, jobs: int = DEFAULT_JOBS,
                 progress: Progress = _quiet, list_media_type: str = mt.OCI_INDEX,
                 narrow_lists: bool = False, once: Once | None = None) -> None:
        self.plan, self.env, self.jobs = plan, env, max(1, jobs)
        self.progress, self.list_media_type = progress, list_media_type
        self.narrow_lists = narrow_lists
        self.once: Once = once or _Memo()
        self._requested = {t.id for t in plan.targets()}
        self._by_id = {t.id: t for i in plan.complete or plan.images for t in i.targets}
        self._outcomes: dict[str, TargetOutcome] = {}
        self._checked: set[str] = set()

    # -- what a run needs ------------------------------------------------------------------

    def closure(self, targets: Iterable[BuildTarget]) -> list[BuildTarget]:
        return closure(self.plan, targets)

    def check_host(self, targets: Iterable[BuildTarget]) -> None:
        todo = [t for t in targets if t.platform.qemu_arch not in self._checked]
        self._checked |= check_host(todo, self.env.backend)

    # -- one target ------------------------------------------------------------------------

    def target(self, target: BuildTarget) -> TargetOutcome:
        """`target` built and pushed once per run, after the targets it builds on."""
        if target.id in self._outcomes:
            return self._outcomes[target.id]
        blocked = [p.id for p in self.plan.prerequisites(target) if not self.target(p).ok]
        self.check_host([target])
        record = self.once(target.id, lambda: self._produce(target, blocked))
        outcome = self._outcome(target, record)
        self._outcomes[target.id] = outcome
        return outcome

    def _produce(self, target: BuildTarget, blocked: list[str]) -> dict[str, Any]:
        if blocked:
            why = f"not built: depends on failed {', '.join(blocked)}"
            self.progress("skip", target, why)
            return {"skipped": why}
        if (self.env.backend == "legacy" and target.platform.is_windows
                and target.platform.release not in self.env.daemons):
            release = target.platform.release
            why = f"skipped: no builder for {release} (REMOTE_DOCKER_URL_{release} unset)"
            self.progress("skip", target, why)
            return {"skipped": why}
        self.progress("start", target, "")
        try:
            b = build_target(target, self.env)
        except E2EImagesError as exc:
            self.progress("fail", target, str(exc))
            return {"error": str(exc)}
        except Exception as exc:  # OSError and the like: this target fails, not the run
            why = f"{type(exc).__name__}: {exc}"
            self.progress("fail", target, why)
            return {"error": why}
        self.progress("done", target, b.digest)
        return {"digest": b.digest, "backend": b.backend, "bytes_pushed": b.bytes_pushed,
                "seconds": b.seconds, "pushed": b.pushed, "entry": _entry_json(b.entry)}

    @staticmethod
    def _outcome(target: BuildTarget, record: dict[str, Any]) -> TargetOutcome:
        if "digest" not in record:
            return TargetOutcome(target, error=record.get("error"),
                                 skipped=record.get("skipped"))
        entry = Descriptor.from_dict(record["entry"]) if record.get("entry") else None
        return TargetOutcome(target, build=TargetBuild(
            target, record["digest"], record["backend"], record["bytes_pushed"],
            record["seconds"], record["pushed"], entry))

    # -- one list --------------------------------------------------------------------------

    def image_list(self, image: ImagePlan) -> ImageOutcome:
        """The image's list, pushed once per run from every platform the catalog gives it
        (per-platform tags only when `has_list` is false)."""
        complete = self.plan.image(image.spec.dir)
        built = [self.target(t) for t in complete.targets if t.id in self._requested]
        failed = [o.target.id for o in built if not o.ok]
        if failed:
            return ImageOutcome(image, error=f"a target failed ({', '.join(failed)}); "
                                             "no list pushed")
        if not complete.has_list:
            self.progress("list", image, "per-platform tags only (entries not distinct)")
            return ImageOutcome(image)
        record = self.once(f"list-{image.spec.dir}", lambda: self._produce_list(complete))
        published = None
        if record.get("digest"):
            ref = parse_reference(image.list_tag)
            index = self.env.pool.client(ref.registry).get_manifest(ref.repository,
                                                                    record["digest"])
            assert isinstance(index, Index)
            published = PublishedList(str(ref), index, bool(record.get("pushed")))
        return ImageOutcome(image, published, record.get("error"),
                            tuple(record.get("missing") or ()))

    def _children(self, image: ImagePlan) -> tuple[list[ListChild], list[str]]:
        """Each entry's child: this run's build, else what the registry holds for the
        current inputs; and the tags that are neither."""
        children, missing = [], []
        for t in image.targets:
            outcome = self._outcomes.get(t.id)  # built by this run, asked for or needed
            if outcome is not None and outcome.build is not None:
                children.append(ListChild(t.tag, outcome.build.digest, outcome.build.entry))
                continue
            digest = current_digest(t, self.env)
            if digest is None:
                missing.append(t.tag)
            else:
                children.append(ListChild(t.tag, digest))
        return children, missing

    def _produce_list(self, image: ImagePlan) -> dict[str, Any]:
        try:
            children, missing = self._children(image)
            if missing and not (self.narrow_lists and children):
                outcome = ImageOutcome(image, missing=tuple(missing))
                self.progress("list", image, outcome.notice or "")
                return {"missing": missing}
            published = self._publish(image, children)
        except E2EImagesError as exc:
            self.progress("fail", image, str(exc))
            return {"error": str(exc)}
        self.progress("list", image, published.index.digest)
        return {"digest": published.index.digest, "pushed": published.pushed}

    def _publish(self, image: ImagePlan, children: list[ListChild]) -> PublishedList:
        """Push the list; when the tag still holds the list built from these very children,
        read it back instead (a no-op re-run stays a few requests)."""
        ref = parse_reference(image.list_tag)
        client = self.env.pool.client(ref.registry)
        key = list_fingerprint(self.list_media_type,
                               [(c.tag.rsplit(":", 1)[-1], c.digest) for c in children])
        current = unchanged_manifest(self.env, image.list_tag, key)
        if isinstance(current, Index):
            return PublishedList(str(ref), current, pushed=False)
        published = publish_list(client, image.list_tag, children,
                                 media_type=self.list_media_type)
        record_push(self.env, image.list_tag, key, published.index.digest)
        return published

    # -- a whole run -----------------------------------------------------------------------

    def run(self) -> RunReport:
        """Every requested target (and what it builds on) and every requested list, each
        started as soon as what it needs is done, `jobs` at a time."""
        targets = self.closure(self.plan.targets())
        self.check_host(targets)
        deps: dict[str, set[str]] = {
            f"t:{t.id}": {f"t:{p.id}" for p in self.plan.prerequisites(t)} for t in targets}
        for image in self.plan.images:
            deps[f"l:{image.spec.dir}"] = {f"t:{t.id}" for t in image.targets}
        height = _heights(deps)
        images: dict[str, ImageOutcome] = {}

        def task(key: str) -> None:
            kind, name = key.split(":", 1)
            if kind == "t":
                self.target(self._by_id[name])
            else:
                image = next(i for i in self.plan.images if i.spec.dir == name)
                images[name] = self.image_list(image)

        done: set[str] = set()
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            running: dict[Future[None], str] = {}

            def submit_ready() -> None:
                ready = [k for k, d in deps.items() if d <= done]
                # lists first (a few requests each, and due as soon as their children
                # are), then the longest chain of waiting targets
                for key in sorted(ready, key=lambda k: (k[0] == "t", -height[k])):
                    del deps[key]
                    running[pool.submit(task, key)] = key

            submit_ready()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    done.add(running.pop(future))
                    future.result()
                submit_ready()
        return RunReport(tuple(self._outcomes[t.id] for t in targets),
                         tuple(images[i.spec.dir] for i in self.plan.images))


def closure(plan: Plan, targets: Iterable[BuildTarget]) -> list[BuildTarget]:
    """`targets` and everything they build on, prerequisites first (plan order)."""
    wanted: set[str] = set()
    stack = list(targets)
    while stack:
        t = stack.pop()
        if t.id not in wanted:
            wanted.add(t.id)
            stack.extend(plan.prerequisites(t))
    return [t for i in plan.complete or plan.images for t in i.targets if t.id in wanted]


def check_host(targets: Iterable[BuildTarget], backend: str) -> set[str]:
    """Before building: binfmt for every foreign arch a Linux target RUNs on (raises
    `host.HostServiceError` with the fixing command). Returns the arches checked."""
    host = build_platform().qemu_arch
    arches = set()
    for t in targets:
        if t.platform.is_windows or t.platform.qemu_arch == host or backend == "native":
            continue
        if t.platform.qemu_arch not in arches and _RUN.search(render_dockerfile(
                read_text(t.dockerfile), t.platform, t.dockerfile.name)):
            arches.add(t.platform.qemu_arch)
    if arches:
        ensure_binfmt(arches)
    return arches


def _heights(deps: dict[str, set[str]]) -> dict[str, int]:
    """Length of the longest chain of tasks waiting on each task: the longest first, so the
    critical path (the servercore cache, Windows busybox) never waits behind leaves."""
    users: dict[str, list[str]] = {k: [] for k in deps}
    for key, needs in deps.items():
        for need in needs:
            users.setdefault(need, []).append(key)
    memo: dict[str, int] = {}

    def h(key: str) -> int:
        if key not in memo:
            memo[key] = 1 + max((h(u) for u in users.get(key, ())), default=0)
        return memo[key]

    return {k: h(k) for k in deps}


def build_plan(plan: Plan, env: BuildEnv, *, jobs: int = DEFAULT_JOBS, progress: Progress = _quiet,
               list_media_type: str = mt.OCI_INDEX, narrow_lists: bool = False) -> RunReport:
    """A whole plan in one call: `Pipeline(...).run()`."""
    return Pipeline(plan, env, jobs=jobs, progress=progress, list_media_type=list_media_type,
                    narrow_lists=narrow_lists).run()
