#!/usr/bin/env python3
"""Build benchmark: our builder against an upstream-style buildah run, side by side.

Scenarios, each on the embedded registry (CNCF distribution) seeded with the hermetic
stand-ins, `ADD <url>` served by the artifact mirror:

  (a)  a cold build of the catalog with our builder (`pipeline.build_plan`, 4 jobs, each
       target started as soon as the images it reads are pushed): fresh
       registry storage, fresh cache dir (staging, compiled-payload cache, buildah store).
       Go's own compiler cache ($XDG_CACHE_HOME/go-build) is a run-local one, warmed
       beforehand (untimed) and shared by (a) and (b) alike;
  (a0) the same, fully cold: Go's compiler cache empty too (skipped by --quick);
  (b)  the same targets one after another as upstream's image-util.sh does: `buildah bud`,
       `buildah push` per target, `buildah manifest create/add/push --all` per image, in a
       fresh registry and buildah store. A target buildah fails is listed as failed; unless
       --no-substitute, its tag is then filled by our builder (time and traffic taken out
       of (b)'s figures) so the targets built on it are still tried with buildah;
  (c)  a no-op rebuild with our builder right after (a): same registry, same cache;
  (d)  a small Windows image (FROM $BASEIMAGE + COPY) on a stand-in nanoserver whose base
       layer holds `--windows-base-bytes` of incompressible filler (1 GiB by default).

How bytes are counted: every client (our registry client and the buildah processes) talks to
the registry through a loopback counting reverse proxy (bench/counting_proxy.py, in a process
of its own so it never takes our builder's GIL), never to the registry's own port. Request
bodies that cross it are "pushed", response bodies "pulled" (chunked framing decoded, headers
not counted). Seeding the stand-ins and the filled Windows base goes to the registry's own
port, so setup traffic is not in any figure; each scenario's figure is the proxy's counter
difference over that scenario's wall time. "CPU s" is user + system time of the benchmark
process and the child processes it waited for (buildah, go), over the same span.

Targets (issues 4 and 12): (a) at least 3x faster than (b); (c) under 10 s and 0 bytes
pushed; (d) under 1 % of the base's bytes pulled; with --baseline FILE (an `e2e-images build
--json` of the previous code, same catalog, SOURCE_DATE_EPOCH and GIT_COMMIT_ID pinned), every
target and list digest of (a) equal to it. Exit status 0 when every target passes, 1 when
one fails, 2 when the benchmark itself could not run.

    .venv/bin/python bench/build.py [--quick] [--json FILE] [--workdir DIR] [--baseline FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from counting_proxy import CountingProxy, Traffic
from upstream_style import UpstreamRun, build_upstream_style
from windows_base_scenario import run_windows_base

from e2e_images.build.builder import BuildEnv, build_target
from e2e_images.build.gobuild import compile_payloads
from e2e_images.errors import E2EImagesError
from e2e_images.hermetic.artifacts import ArtifactMirror
from e2e_images.hermetic.standins import StandinSet, build_standins, mirror_map_for, seed_upstream
from e2e_images.pipeline import DEFAULT_JOBS, RunReport, build_plan
from e2e_images.plan import BuildTarget, Filters, Plan
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.embedded import EmbeddedRegistry
from e2e_images.registry.mirrors import MirrorMap
from e2e_images.registry.pool import ClientPool
from e2e_images.session import EMBEDDED_NAMESPACE, artifact_mirror, build_env
from e2e_images.workspace import load_plan, source_date_epoch

REPO = Path(__file__).resolve().parent.parent
QUICK = Filters(what=("busybox", "agnhost", "windows-servercore-cache"),
                platforms=("linux/amd64", "windows/amd64"), windows_versions=("ltsc2022",))


@dataclass(slots=True)
class Figure:
    scenario: str
    seconds: float
    pushed: int
    pulled: int
    requests: int
    targets: int
    failed: list[str] = field(default_factory=list)
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    excluded_seconds: float = 0.0  # (b): substitutions by our builder, not in the figures
    per_target: dict[str, list[object]] = field(default_factory=dict)  # id: [s, backend, B]
    cpu_seconds: float = 0.0  # user + system, this process and waited-for children
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at start and end


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Registry:
    """A fresh embedded registry with the proxy in front; stand-ins seeded directly."""

    def __init__(self, stack: ExitStack, base: Path, standins: StandinSet | None) -> None:
        self.embedded = stack.enter_context(EmbeddedRegistry(base, storage=base / "storage"))
        if standins is not None:
            seed_upstream(RegistryClient(self.embedded.host), self.embedded.host,
                          standins=standins)
        self.proxy = stack.enter_context(CountingProxy(self.embedded.host))
        self.mirrors: MirrorMap = mirror_map_for(self.proxy.host)
        self.last_load = 0.0

    @property
    def target(self) -> str:
        return f"{self.proxy.host}/{EMBEDDED_NAMESPACE}"

    def measure(self, fn: Callable[[], object]) -> tuple[object, float, Traffic, float]:
        """(result, wall seconds, proxy traffic, CPU seconds of this process and of the
        child processes it waited for: buildah, go, skopeo)."""
        before, started, cpu = self.proxy.traffic(), time.monotonic(), _cpu_seconds()
        self.last_load = os.getloadavg()[0]
        result = fn()
        return (result, time.monotonic() - started, self.proxy.traffic() - before,
                _cpu_seconds() - cpu)

    def load(self) -> tuple[float, float]:
        """The 1-minute load average when the last measurement started, and now."""
        return (round(self.last_load, 2), round(os.getloadavg()[0], 2))


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def go_cache(root: Path) -> Path:
    """Point Go's compiler cache at `root` for the builds that follow.

    Go keeps it under $XDG_CACHE_HOME/go-build (the builder passes XDG_CACHE_HOME through;
    it strips GO* variables), so this is what makes (a0) cold and (a)/(b) share a warm one.
    """
    root.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = str(root)
    return root / "go-build"


def fresh_cache(path: Path, gocache: Path | None) -> Path:
    """A new cache dir; with `gocache`, a builder that keeps Go's compiler cache inside its
    cache dir (cache/go-build) gets the shared one."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    if gocache is not None:
        gocache.mkdir(parents=True, exist_ok=True)
        (path / "go-build").symlink_to(gocache, target_is_directory=True)
    return path


def warm_go(plan: Plan, work: Path, gocache: Path) -> float:
    started = time.monotonic()
    scratch = fresh_cache(work / "warm-cache", gocache)
    for target in plan.targets():
        ctx = scratch / "ctx" / target.id
        ctx.mkdir(parents=True)
        compile_payloads(target.go, target.context, target.platform, ctx, scratch)
    shutil.rmtree(scratch)
    return time.monotonic() - started


def ours(label: str, plan: Plan, reg: Registry, cache: Path, epoch: int, mirror: ArtifactMirror,
         jobs: int) -> tuple[Figure, RunReport]:
    env = build_env(ClientPool(mirrors=reg.mirrors), registry=reg.target, cache=cache,
                    epoch=epoch, backend="auto", artifacts=mirror)

    def progress(kind: str, subject: object, detail: str) -> None:
        if kind in ("fail", "done"):
            log(f"({label}) {kind} {getattr(subject, 'id', '')} {detail[:160]}")

    report, seconds, traffic, cpu = reg.measure(
        lambda: build_plan(plan, env, jobs=jobs, progress=progress))
    assert isinstance(report, RunReport)
    failed = [t.target.id for t in report.targets if t.build is None]
    failed += [f"{i.image.spec.dir} (list)" for i in report.images if i.error]
    errors = {t.target.id: (t.error or t.skipped or "")[:2000] for t in report.targets
              if t.build is None}
    errors |= {f"{i.image.spec.dir} (list)": (i.error or "")[:2000] for i in report.images
               if i.error}
    backends: dict[str, int] = {}
    for t in report.targets:
        if t.build is not None:
            backends[t.build.backend] = backends.get(t.build.backend, 0) + 1
    note = ", ".join(f"{n} {b}" for b, n in sorted(backends.items()))
    per_target: dict[str, list[object]] = {
        t.target.id: [round(t.build.seconds, 2), t.build.backend, t.build.bytes_pushed]
        for t in report.targets if t.build is not None}
    return Figure(label, seconds, traffic.pushed, traffic.pulled, traffic.requests,
                  len(plan.targets()), failed, note, errors, per_target=per_target,
                  cpu_seconds=cpu, load=reg.load()), report


@dataclass(slots=True)
class _Excluded:
    seconds: float = 0.0
    cpu: float = 0.0
    traffic: Traffic = field(default_factory=lambda: Traffic(0, 0, 0))


def upstream(plan: Plan, reg: Registry, work: Path, mirror: ArtifactMirror, epoch: int,
             substitute: bool) -> Figure:
    """(b); with `substitute`, a target buildah fails is then built by our builder so the
    targets on top of it are still tried with buildah. That work is timed and counted
    separately and taken out of (b)'s figures."""
    env = build_env(ClientPool(mirrors=reg.mirrors), registry=reg.target,
                    cache=fresh_cache(work.parent / "cache-b-substitute", None), epoch=epoch,
                    backend="auto", artifacts=mirror)
    excluded = _Excluded()

    def fill(target: BuildTarget) -> bool:
        ok, seconds, traffic, cpu = reg.measure(lambda: _try_build(target, env))
        excluded.seconds += seconds
        excluded.cpu += cpu
        excluded.traffic = excluded.traffic + traffic
        log(f"(b) substituted {target.id} with our builder ({seconds:.1f} s, not counted)")
        return bool(ok)

    load_before = round(os.getloadavg()[0], 2)
    run, seconds, traffic, cpu = reg.measure(lambda: build_upstream_style(
        plan, work=work, mirrors=reg.mirrors, insecure_hosts=(reg.proxy.host,),
        mirror_url=mirror.url_for, progress=log, substitute=fill if substitute else None))
    assert isinstance(run, UpstreamRun)
    traffic = traffic - excluded.traffic
    note = "buildah bud + push, manifest push --all"
    if run.substituted:
        note += (f"; {len(run.substituted)} failed tags then filled by our builder "
                 f"({excluded.seconds:.1f} s, taken out): {', '.join(run.substituted)}")
    return Figure("b", seconds - excluded.seconds, traffic.pushed, traffic.pulled,
                  traffic.requests, len(plan.targets()), [o.name for o in run.failed], note,
                  {o.name: o.error or "" for o in run.failed}, excluded.seconds,
                  {o.name: [round(o.seconds, 2), "buildah" if not o.error else "failed", -1]
                   for o in run.outcomes}, cpu_seconds=cpu - excluded.cpu,
                  load=(load_before, round(os.getloadavg()[0], 2)))


def _try_build(target: BuildTarget, env: BuildEnv) -> bool:
    try:
        build_target(target, env)
    except E2EImagesError as exc:
        log(f"(b) substitution of {target.id} failed too: {exc}")
        return False
    return True


def human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


NAMES = {"a": "(a)  ours, cold (Go compiler cache warm)", "a0": "(a0) ours, fully cold",
         "b": "(b)  upstream-style buildah", "c": "(c)  ours, no-op rebuild",
         "d": "(d)  Windows on filled base"}


def table(figures: list[Figure]) -> str:
    rows = [("scenario", "wall s", "CPU s", "load", "pushed", "pulled", "requests",
             "targets", "failed")]
    for f in figures:
        rows.append((NAMES.get(f.scenario, f.scenario), f"{f.seconds:.1f}",
                     f"{f.cpu_seconds:.1f}", f"{f.load[0]:.1f}>{f.load[1]:.1f}",
                     f"{f.pushed:,}", f"{f.pulled:,}", str(f.requests), str(f.targets),
                     str(len(f.failed))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(r, widths, strict=True))) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    for f in figures:
        extra = f"  {f.scenario}: pushed {human(f.pushed)}, pulled {human(f.pulled)}"
        if f.note:
            extra += f"; {f.note}"
        lines.append(extra)
        if f.failed:
            lines.append(f"  {f.scenario} failed: {', '.join(f.failed)}")
    return "\n".join(lines)


def verdicts(by: dict[str, Figure], base_bytes: int) -> list[tuple[str, bool, str]]:
    out = []
    a, b, c, d = by.get("a"), by.get("b"), by.get("c"), by.get("d")
    if a and b:
        speedup = b.seconds / a.seconds if a.seconds else 0.0
        why = f"(b) {b.seconds:.1f} s / (a) {a.seconds:.1f} s = {speedup:.2f}x (need >= 3x)"
        if a.failed:
            why += f"; (a) had {len(a.failed)} failures"
        if b.failed:
            why += f"; (b) had {len(b.failed)} failed targets (not rebuilt)"
        out.append(("a", speedup >= 3.0 and not a.failed, why))
    if c:
        why = f"{c.seconds:.1f} s (need < 10), {c.pushed:,} bytes pushed (need 0)"
        if c.failed:
            why += f"; {len(c.failed)} failures"
        out.append(("c", c.seconds < 10 and c.pushed == 0 and not c.failed, why))
    if d:
        pct = 100.0 * d.pulled / base_bytes if base_bytes else 100.0
        why = f"pulled {d.pulled:,} of the base's {base_bytes:,} bytes = {pct:.4f} % (need < 1 %)"
        if d.failed:
            why += "; the build failed"
        out.append(("d", pct < 1.0 and not d.failed, why))
    return out


def digests(report: RunReport) -> dict[str, str | None]:
    """Target id and list dir -> digest, as `e2e-images build --json` names them."""
    out = {t.target.id: t.build.digest if t.build else None for t in report.targets}
    return out | {f"list {i.image.spec.dir}": i.published.index.digest if i.published else None
                  for i in report.images}


def same_as_baseline(ours_: dict[str, str | None], path: Path) -> tuple[str, bool, str]:
    data = json.loads(path.read_text())
    theirs = {t["id"]: t["digest"] for t in data["targets"]}
    theirs |= {f"list {i['dir']}": i["digest"] for i in data["lists"]}
    differ = sorted(k for k in theirs.keys() | ours_.keys() if theirs.get(k) != ours_.get(k))
    why = (f"{len(theirs) - len(differ)} of {len(theirs)} target and list digests equal "
           f"{path.name}'s")
    if differ:
        why += f"; differ: {', '.join(differ[:8])}"
    return "digests", not differ, why


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="busybox + agnhost (and the servercore cache they need) for "
                             "linux/amd64 and ltsc2022; small Windows base; no (a0)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--images-dir", type=Path, default=REPO / "images")
    parser.add_argument("--workdir", type=Path, help="scratch dir (default: a temp dir, removed)")
    parser.add_argument("--jobs", "-j", type=int, default=DEFAULT_JOBS,
                        help=f"our builder's parallelism (default: the CLI's, {DEFAULT_JOBS})")
    parser.add_argument("--windows-base-bytes", type=int, default=None,
                        help="filler in the (d) base layer (default 1 GiB; --quick 32 MiB)")
    parser.add_argument("--fully-cold", action=argparse.BooleanOptionalAction, default=None,
                        help="also run (a0) with an empty Go compiler cache "
                             "(default: on, off with --quick)")
    parser.add_argument("--substitute", action=argparse.BooleanOptionalAction, default=True,
                        help="(b): fill a tag buildah failed to build with our builder "
                             "(untimed) so the targets built on it are still tried")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="`e2e-images build --json` of the previous code: (a)'s digests "
                             "must equal it")
    parser.add_argument("--skip", default="", help="comma list of scenarios to skip (a0,b,d)")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    filler = args.windows_base_bytes or ((32 << 20) if args.quick else (1 << 30))
    fully_cold = (not args.quick) if args.fully_cold is None else args.fully_cold
    filters = QUICK if args.quick else Filters()

    with ExitStack() as stack:
        work = args.workdir or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="e2e-bench-")))
        work.mkdir(parents=True, exist_ok=True)
        epoch = source_date_epoch(args.images_dir)
        log(f"workdir {work}; building the stand-in set")
        standins = build_standins()
        mirror = stack.enter_context(artifact_mirror(work / "artifacts"))
        gocache = go_cache(work / "xdg-warm")
        figures: list[Figure] = []

        # (a) and (c): one registry, one cache.
        with ExitStack() as scope:
            reg = Registry(scope, work / "registry-a", standins)
            plan = load_plan(args.images_dir, reg.target, filters)
            log(f"{len(plan.targets())} targets of {len(plan.images)} images; "
                f"warming Go's compiler cache")
            log(f"Go warm-up took {warm_go(plan, work, gocache):.1f} s (not in any figure)")
            cache = fresh_cache(work / "cache-a", gocache)
            log("(a) cold build with our builder")
            fig_a, report_a = ours("a", plan, reg, cache, epoch, mirror, args.jobs)
            figures.append(fig_a)
            log(f"(a) {fig_a.seconds:.1f} s; (c) no-op rebuild")
            fig_c, _ = ours("c", plan, reg, cache, epoch, mirror, args.jobs)
            figures.append(fig_c)
            log(f"(c) {fig_c.seconds:.1f} s")

        if "b" not in skip:
            with ExitStack() as scope:
                reg = Registry(scope, work / "registry-b", standins)
                plan = load_plan(args.images_dir, reg.target, filters)
                log("(b) upstream-style buildah, one target after another")
                figures.append(upstream(plan, reg, fresh_cache(work / "cache-b", gocache),
                                        mirror, epoch, args.substitute))
                log(f"(b) {figures[-1].seconds:.1f} s")

        if fully_cold and "a0" not in skip:
            with ExitStack() as scope:
                reg = Registry(scope, work / "registry-a0", standins)
                plan = load_plan(args.images_dir, reg.target, filters)
                log("(a0) fully cold build with our builder (empty Go compiler cache)")
                go_cache(work / "xdg-cold")
                fig, _ = ours("a0", plan, reg, fresh_cache(work / "cache-a0", None), epoch,
                              mirror, args.jobs)
                go_cache(work / "xdg-warm")
                figures.append(fig)
                log(f"(a0) {fig.seconds:.1f} s")

        base_bytes = 0
        if "d" not in skip:
            with ExitStack() as scope:
                reg = Registry(scope, work / "registry-d", None)
                log(f"(d) a stand-in nanoserver ltsc2022 with {human(filler)} of filler")
                result = run_windows_base(
                    work / "d", direct_host=reg.embedded.host, proxy_host=reg.proxy.host,
                    filler_bytes=filler, log=log,
                    ours=lambda plan, cache: ours("d", plan, reg, cache, epoch, mirror,
                                                  args.jobs)[0])
                base_bytes = result.base_bytes
                result.figure.note = (f"base {human(result.base_bytes)} "
                                      f"(setup {result.setup_seconds:.0f} s, not timed)")
                figures.append(result.figure)

    by = {f.scenario: f for f in figures}
    print(table(figures))
    busiest = max((max(f.load) for f in figures), default=0.0)
    if busiest > _cpus():
        print(f"note: the 1-minute load average reached {busiest:.1f} on {_cpus()} CPUs: "
              "other work shared the machine, so wall times are noisy")
    results = verdicts(by, base_bytes)
    if args.baseline:
        results.append(same_as_baseline(digests(report_a), args.baseline))
    for name, ok, why in results:
        print(f"{'PASS' if ok else 'FAIL'} ({name}) {why}")
    if args.json:
        args.json.write_text(json.dumps({
            "quick": args.quick, "cpus": _cpus(), "windows_base_bytes": base_bytes,
            "go_compiler_cache": "warm for a, b, c; empty for a0",
            "figures": [asdict(f) for f in figures],
            "verdicts": [{"target": n, "pass": ok, "detail": why} for n, ok, why in results],
        }, indent=2) + "\n")
    return 0 if all(ok for _, ok, _ in results) else 1


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except (E2EImagesError, OSError, RuntimeError) as exc:
        print(f"bench/build.py: {exc}", file=sys.stderr)
        sys.exit(2)
