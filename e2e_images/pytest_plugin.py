"""pytest plugin: options, markers, and session fixtures parametrised over the build plan.

Thin by design: every fixture wires library calls together (`workspace.load_plan`,
`run_state.SharedResults`); the plan builds the test ids, so `-k windows` and `-m linux`
select targets without this module knowing about platforms.

Markers on a target: its OS (`linux` / `windows`), its arch, and `image(<dir>)`. Targets built
once per Windows release (the servercore cache: `linux/amd64/1809`) carry `windows` as well as
`linux`: they belong to the Windows build, and `-k windows` must build them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_images.audit import VerifyOptions
from e2e_images.build.builder import BuildEnv
from e2e_images.errors import E2EImagesError
from e2e_images.oci.image import Image
from e2e_images.oci.models import Index
from e2e_images.plan import BuildTarget, Filters, ImagePlan, Plan
from e2e_images.platforms import LINUX_ARCHES
from e2e_images.registry.mirrors import MirrorMap
from e2e_images.registry.pool import ClientPool
from e2e_images.run_state import SharedResults
from e2e_images.verify.containerd import DEFAULT_GATING, parse_families
from e2e_images.workspace import load_plan

__all__ = ["TargetResult"]

# Collection needs tags before any registry runs; ids and marks do not depend on it.
COLLECTION_REGISTRY = "registry.invalid/e2e-test-images"
_PLAN_KEY = pytest.StashKey[Plan]()
EMBEDDED_REGISTRY_DIR = "embedded-registry"


@dataclass(frozen=True, slots=True)
class TargetResult:
    """What a target fixture yields: the reference and, once pushed, the manifest digest."""

    target: BuildTarget
    reference: str
    digest: str | None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("e2e-images", "e2e-images: build and verify test images")
    group.addoption("--registry", default=None,
                    help="target registry; default: the embedded registry of this run")
    group.addoption("--images-dir", default=None,
                    help="catalog root (default: <rootdir>/images)")
    group.addoption("--what", action="append", default=[],
                    help="image directories (or all-conformance); repeatable, comma-separated")
    group.addoption("--windows-versions", default="",
                    help="only these Windows releases, comma-separated (e.g. 1809,ltsc2022)")
    group.addoption("--builder", default="auto", choices=("auto", "native", "buildah"),
                    help="auto: native for stages without RUN, buildah otherwise")
    group.addoption("--cache-dir", default=None,
                    help="build caches (default: $E2E_IMAGES_CACHE or ~/.cache/e2e-images)")
    group.addoption("--artifacts", default=None, metavar="FILE",
                    help="YAML map of ADD <url> prefixes to a mirror URL prefix or a local "
                         "directory, with optional sha256 pins (README: --artifacts)")
    group.addoption("--mirrors", default=None, metavar="FILE",
                    help="YAML map of upstream registry prefixes to mirrors, used with "
                         "--registry; the embedded default mirrors the hermetic stand-ins")
    group.addoption("--fail-on-warnings", action="store_true", default=False,
                    help="verification warnings fail the image checks too (default: only "
                         "errors fail; warnings are shown in the summary table)")
    group.addoption("--containerd-families", default=None, metavar="LIST",
                    help="containerd families whose pull problems fail the list checks "
                         "(1.6, 1.7.0-1.7.19, 1.7.20-2.1, 2.2+; 'all'; '<release>+'; "
                         "default: 1.7.20+)")


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "windows: a target of the Windows build (a Windows image, or a per-release helper)",
        "linux: a Linux image target",
        *(f"{arch}: a target for the {arch} architecture" for arch in LINUX_ARCHES),
        "image(dir): the catalog image directory a target belongs to",
        "runtime: needs a running container engine",
        "targets(image=None, os=None, arch=None): parametrise this test over the matching "
        "targets only (image: a dir or a tuple of dirs; os/arch: a value or tuple)",
    ):
        config.addinivalue_line("markers", line)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """The summary table lives on the controlling process (not on xdist workers) and only
    when a catalog is there to name its rows."""
    config = session.config
    if hasattr(config, "workerinput") or not (config.getoption("images_dir")
                                              or images_dir(config).is_dir()):
        return
    from e2e_images.summary import CheckSummary

    try:
        plan = collection_plan(config)
    except pytest.UsageError:
        return  # reported again, as a usage error, at collection
    rows = {t.id: (t.image_dir, t.platform.key) for t in plan.targets()}
    rows |= {f"{i.spec.dir.replace('/', '-')}-list": (i.spec.dir, "(list)") for i in plan.images}
    config.pluginmanager.register(CheckSummary(rows), "e2e-images-summary")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The xdist controller owns the run's embedded registry: stop it once every worker is
    done (the workers' shared dir is the controller's basetemp, as xdist lays it out)."""
    config = session.config
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("dsession"):
        return
    from e2e_images.registry.embedded import stop_shared

    shared = config._tmp_path_factory.getbasetemp()  # what xdist derives workers' dirs from
    if (shared / EMBEDDED_REGISTRY_DIR).is_dir():
        stop_shared(shared / EMBEDDED_REGISTRY_DIR)


def _csv(values: list[str] | str) -> tuple[str, ...]:
    items = [values] if isinstance(values, str) else values
    return tuple(v.strip() for item in items for v in item.split(",") if v.strip())


def images_dir(config: pytest.Config) -> Path:
    option = config.getoption("images_dir")
    return Path(option) if option else config.rootpath / "images"


def filters(config: pytest.Config) -> Filters:
    return Filters(what=_csv(config.getoption("what")),
                   windows_versions=_csv(config.getoption("windows_versions")))


def collection_plan(config: pytest.Config) -> Plan:
    if _PLAN_KEY not in config.stash:
        try:
            config.stash[_PLAN_KEY] = load_plan(images_dir(config), COLLECTION_REGISTRY,
                                                filters(config))
        except E2EImagesError as exc:
            raise pytest.UsageError(f"e2e-images: {exc}") from None
    return config.stash[_PLAN_KEY]


def pytest_collection(session: pytest.Session) -> None:
    """Read the catalog before collecting, so a bad one is one usage-error line (exit 4)
    rather than a collection traceback; sessions without a catalog are left alone."""
    config = session.config
    if config.getoption("images_dir") or images_dir(config).is_dir():
        collection_plan(config)


def target_marks(target: BuildTarget) -> list[pytest.MarkDecorator]:
    marks = [getattr(pytest.mark, target.platform.os), getattr(pytest.mark, target.platform.arch),
             pytest.mark.image(target.image_dir)]
    if target.platform.per_release_linux:
        marks.append(pytest.mark.windows)
    return marks


def image_marks(image: ImagePlan) -> list[pytest.MarkDecorator]:
    """A list belongs to the Windows build if it has a Windows-build target, and to Linux if
    it has a Linux one: `-k windows` verifies exactly the lists of the Windows build."""
    marks = {m.name: m for t in image.targets for m in target_marks(t)
             if m.name in ("windows", "linux")}
    return [pytest.mark.image(image.spec.dir), *marks.values()]


def _wanted(value: object, actual: str) -> bool:
    return value is None or actual == value or (isinstance(value, tuple) and actual in value)


def selected_targets(plan: Plan, marker: pytest.Mark | None) -> tuple[BuildTarget, ...]:
    """All targets, or those a `targets(...)` marker names (Linux: per-release keys excluded
    unless the marker asks for them by image)."""
    if marker is None:
        return plan.targets()
    image, os_, arch = (marker.kwargs.get(k) for k in ("image", "os", "arch"))
    return tuple(t for t in plan.targets()
                 if _wanted(image, t.image_dir) and _wanted(os_, t.platform.os)
                 and _wanted(arch, t.platform.arch)
                 and (image is not None or not t.platform.per_release_linux))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "build_target" in metafunc.fixturenames:
        targets = selected_targets(collection_plan(metafunc.config),
                                   metafunc.definition.get_closest_marker("targets"))
        metafunc.parametrize(
            "build_target",
            [pytest.param(t.id, id=t.id, marks=target_marks(t)) for t in targets],
            indirect=True, scope="session",
        )
    if "image_plan" in metafunc.fixturenames:
        images = collection_plan(metafunc.config).images
        metafunc.parametrize(
            "image_plan",
            [pytest.param(i.spec.dir, id=f"{i.spec.dir.replace('/', '-')}-list",
                          marks=image_marks(i)) for i in images],
            indirect=True, scope="session",
        )


@pytest.fixture(scope="session")
def e2e_shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One directory for all xdist workers of this run."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def e2e_registry(pytestconfig: pytest.Config, e2e_shared_dir: Path) -> Iterator[str]:
    """`<host>[/path]` targets are pushed to: --registry, or one embedded registry per run
    (distribution on a free loopback port, shared by every worker). Under xdist the controller
    stops it when the whole run is over (`pytest_sessionfinish`): a worker that finishes early
    must not stop it under one that has not asked for it yet."""
    given = pytestconfig.getoption("registry")
    if given:
        yield given.rstrip("/")
        return
    from e2e_images.registry.embedded import shared_registry
    from e2e_images.session import EMBEDDED_NAMESPACE

    registry = shared_registry(e2e_shared_dir / EMBEDDED_REGISTRY_DIR)
    try:
        yield f"{registry.host}/{EMBEDDED_NAMESPACE}"
    finally:
        if not hasattr(pytestconfig, "workerinput"):
            registry.release()


@pytest.fixture(scope="session")
def e2e_upstream(pytestconfig: pytest.Config, e2e_registry: str,
                 e2e_results: SharedResults) -> MirrorMap:
    """How upstream references are reached: the --mirrors map with --registry, else the
    hermetic stand-ins, seeded once per run into the embedded registry."""
    from e2e_images.hermetic.standins import mirror_map_for, seed_host
    from e2e_images.registry import mirrors
    from e2e_images.registry.reference import host_of

    if pytestconfig.getoption("registry"):
        path = pytestconfig.getoption("mirrors")
        return mirrors.load(path) if path else mirrors.MirrorMap()
    host = host_of(e2e_registry)
    e2e_results.get_or_produce("hermetic-upstream", lambda: {
        str(r.mirrored): r.digest for r in seed_host(host)[1]})
    return mirror_map_for(host)


@pytest.fixture(scope="session")
def e2e_plan(pytestconfig: pytest.Config, e2e_registry: str) -> Plan:
    return load_plan(images_dir(pytestconfig), e2e_registry, filters(pytestconfig))


@pytest.fixture(scope="session")
def e2e_clients(e2e_upstream: MirrorMap) -> ClientPool:
    return ClientPool(mirrors=e2e_upstream)



@pytest.fixture(scope="session")
def e2e_verify_options(pytestconfig: pytest.Config) -> VerifyOptions:
    """What the image checks judge by (`--containerd-families`); `fail_on_warnings` is
    read by the checks from `--fail-on-warnings`."""
    families = pytestconfig.getoption("containerd_families")
    try:
        gating = parse_families(families or DEFAULT_GATING)
    except E2EImagesError as exc:
        raise pytest.UsageError(f"e2e-images: {exc}") from None
    return VerifyOptions(gating=gating)


@pytest.fixture(scope="session")
def e2e_results(e2e_shared_dir: Path) -> SharedResults:
    return SharedResults(e2e_shared_dir / "e2e-results")


@pytest.fixture(scope="session")
def build_target(request: pytest.FixtureRequest, e2e_plan: Plan) -> BuildTarget:
    wanted: str = request.param
    return next(t for t in e2e_plan.targets() if t.id == wanted)


@pytest.fixture(scope="session")
def image_plan(request: pytest.FixtureRequest, e2e_plan: Plan) -> ImagePlan:
    wanted: str = request.param
    return next(i for i in e2e_plan.images if i.spec.dir == wanted)


@pytest.fixture(scope="session")
def e2e_docker() -> Iterator[object]:
    """A docker-py client to the engine `hack/services.sh up` starts (or one already there)."""
    import docker

    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except Exception as exc:  # no engine: genuinely absent, say why
        pytest.skip(f"no Docker engine answers ({type(exc).__name__}); "
                    "run hack/services.sh up as root")
    yield client
    client.close()


@pytest.fixture(scope="session")
def e2e_build_env(pytestconfig: pytest.Config, e2e_registry: str, e2e_clients: ClientPool,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuildEnv]:
    """Per worker: the builder's environment (artifact mirror on the hermetic default)."""
    from e2e_images.session import artifact_mirror, artifact_router, build_env, default_cache
    from e2e_images.workspace import source_date_epoch

    cache = Path(pytestconfig.getoption("cache_dir") or default_cache())
    epoch = source_date_epoch(images_dir(pytestconfig))
    backend = pytestconfig.getoption("builder")
    artifacts_file = pytestconfig.getoption("artifacts")
    if pytestconfig.getoption("registry"):
        with artifact_router(artifacts_file) as router:
            yield build_env(e2e_clients, registry=e2e_registry, cache=cache, epoch=epoch,
                            backend=backend, artifacts=router)
        return
    with artifact_mirror(tmp_path_factory.mktemp("artifacts")) as standins, \
            artifact_router(artifacts_file, standins) as router:
        yield build_env(e2e_clients, registry=e2e_registry, cache=cache, epoch=epoch,
                        backend=backend, artifacts=router, hermetic=True)


def produce_target(target: BuildTarget, plan: Plan, results: SharedResults,
                   env: BuildEnv) -> TargetResult:
    """Build `target` once per run, after the targets it builds on (each also once)."""
    from e2e_images.build.builder import build_target as build

    def produce() -> dict[str, object]:
        for needed in plan.prerequisites(target):
            produce_target(needed, plan, results, env)
        return {"reference": target.tag, "digest": build(target, env).digest}

    record = results.get_or_produce(target.id, produce)
    return TargetResult(target, str(record["reference"]), str(record["digest"]))


@pytest.fixture(scope="session")
def built_target(build_target: BuildTarget, e2e_plan: Plan, e2e_results: SharedResults,
                 e2e_build_env: BuildEnv) -> TargetResult:
    """The target built and pushed, once across all workers."""
    return produce_target(build_target, e2e_plan, e2e_results, e2e_build_env)


@pytest.fixture(scope="session")
def built_image(built_target: TargetResult, e2e_clients: ClientPool) -> Image:
    """The pushed image, read lazily (layers are fetched only when a check opens them)."""
    from e2e_images.registry.reference import parse_reference

    return e2e_clients.image(parse_reference(built_target.reference)
                             .with_digest(built_target.digest))


@pytest.fixture(scope="session")
def built_list(image_plan: ImagePlan, e2e_plan: Plan, e2e_results: SharedResults,
               e2e_build_env: BuildEnv, e2e_clients: ClientPool) -> Index | None:
    """The image's manifest list, pushed once every child is built (None: per-platform tags
    only, see `ImagePlan.has_list`)."""
    from e2e_images.publish.manifest_list import publish_list
    from e2e_images.registry.reference import parse_reference

    for target in image_plan.targets:
        produce_target(target, e2e_plan, e2e_results, e2e_build_env)
    if not image_plan.has_list:
        return None
    ref = parse_reference(image_plan.list_tag)
    client = e2e_clients.client(ref.registry)

    def publish() -> dict[str, object]:
        published = publish_list(client, image_plan.list_tag,
                                 [t.tag for t in image_plan.targets])
        return {"digest": published.index.digest}

    digest = str(e2e_results.get_or_produce(f"list-{image_plan.spec.dir}", publish)["digest"])
    index = client.get_manifest(ref.repository, digest)
    assert isinstance(index, Index)
    return index
