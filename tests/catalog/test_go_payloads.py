"""The catalog's Go payloads (agnhost, busybox's `hostname`) vet, test, cross-compile and run.

The builder will compile these from each image's Makefile (`SRCS`, `LD_FLAGS`), so the builds
here read the same Makefiles and use the upstream command line:
`CGO_ENABLED=0 GOOS=<os> GOARCH=<arch> [GOARM=7] go build -ldflags "-w $LD_FLAGS"`.
Headers are parsed by hand rather than trusted to `file(1)`, and the binaries really run:
natively for linux/amd64, under qemu-user for the other Linux arches.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

IMAGES = Path(__file__).resolve().parents[2] / "images"
AGNHOST = IMAGES / "agnhost"
BUSYBOX = IMAGES / "busybox"

GO_MISSING = "`go` is not installed: apt-get install golang-go (the project bootstrap installs it)"
GO_TIMEOUT = 300  # seconds for one go command; a cold cache compiles the stdlib per arch


# ---------------------------------------------------------------------------------------------
# Go toolchain and the Makefile contract


@pytest.fixture(scope="module")
def go() -> str:
    """The go binary. Missing go is a failure, not a skip: the catalog cannot build without it."""
    found = shutil.which("go") or ("/usr/bin/go" if os.access("/usr/bin/go", os.X_OK) else None)
    if found is None:
        pytest.fail(GO_MISSING, pytrace=False)
    return found


def go_env(**extra: str) -> dict[str, str]:
    """Offline, standard-library-only builds: no proxy, no toolchain switch, no go.work."""
    env = dict(os.environ)
    env.update(GOFLAGS="", GOPROXY="off", GOTOOLCHAIN="local", GOWORK="off", **extra)
    return env


def run_go(go: str, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [go, *args], cwd=cwd, env=go_env(**env), capture_output=True, text=True,
        timeout=GO_TIMEOUT, check=False,
    )
    assert proc.returncode == 0, (
        f"go {' '.join(args)} in {cwd} (env {env}) exited {proc.returncode}:\n"
        f"{proc.stdout}\n{proc.stderr}"
    )
    return proc


@dataclass(frozen=True, slots=True)
class GoPayload:
    """What an image's Makefile asks the builder to compile."""

    image_dir: Path
    version: str
    srcs: tuple[str, ...]
    ld_flags: str

    @property
    def ldflags_arg(self) -> str:
        return f"-w {self.ld_flags}".rstrip()


_ASSIGN = re.compile(r"^(?P<name>[A-Z_]+)\s*[:?]?=\s*(?P<value>.*?)\s*$")


def read_payload(image_dir: Path) -> GoPayload:
    """Reads SRCS and LD_FLAGS from the Makefile, with $(VERSION) taken from VERSION."""
    version = (image_dir / "VERSION").read_text().strip()
    values: dict[str, str] = {}
    for line in (image_dir / "Makefile").read_text().splitlines():
        if m := _ASSIGN.match(line):
            values.setdefault(m["name"], m["value"])
    assert "SRCS" in values, f"{image_dir}/Makefile defines no SRCS"
    ld_flags = values.get("LD_FLAGS", "").replace("$(VERSION)", version)
    return GoPayload(image_dir, version, tuple(values["SRCS"].split()), ld_flags)


@dataclass(frozen=True, slots=True)
class Target:
    os: str
    arch: str
    goarm: str = ""
    elf_machine: int = 0  # e_machine for Linux targets
    elf_64bit: bool = True
    big_endian: bool = False
    qemu: str = ""  # qemu-user binary that runs it on an amd64 host ("" = native)

    @property
    def id(self) -> str:
        return f"{self.os}-{self.arch}"


TARGETS = (
    Target("linux", "amd64", elf_machine=62),
    Target("linux", "arm", goarm="7", elf_machine=40, elf_64bit=False, qemu="qemu-arm-static"),
    Target("linux", "arm64", elf_machine=183, qemu="qemu-aarch64-static"),
    Target("linux", "ppc64le", elf_machine=21, qemu="qemu-ppc64le-static"),
    Target("linux", "s390x", elf_machine=22, big_endian=True, qemu="qemu-s390x-static"),
    Target("windows", "amd64"),
)
LINUX_AMD64 = TARGETS[0]
WINDOWS_AMD64 = TARGETS[-1]


def build(go: str, payload: GoPayload, src: str, target: Target, out_dir: Path) -> Path:
    """Upstream `bin` semantics: src `a/b` builds package `./a` into `<out>/a/b`."""
    out = out_dir / target.id / src
    package = "./" + (os.path.dirname(src) or ".")
    env = {"CGO_ENABLED": "0", "GOOS": target.os, "GOARCH": target.arch}
    if target.goarm:
        env["GOARM"] = target.goarm
    run_go(go, ["build", "-ldflags", payload.ldflags_arg, "-o", str(out), package],
           payload.image_dir, **env)
    return out


@pytest.fixture(scope="module")
def agnhost_payload() -> GoPayload:
    return read_payload(AGNHOST)


@pytest.fixture(scope="module")
def agnhost_builds(
    go: str, agnhost_payload: GoPayload, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """agnhost for every target, built once per module (and per xdist worker)."""
    out_dir = tmp_path_factory.mktemp("agnhost-bin")
    assert agnhost_payload.srcs == ("agnhost",)
    return {t.id: build(go, agnhost_payload, "agnhost", t, out_dir) for t in TARGETS}


# ---------------------------------------------------------------------------------------------
# Header parsing


@dataclass(frozen=True, slots=True)
class ElfHeader:
    is_64bit: bool
    big_endian: bool
    e_type: int
    machine: int


def read_elf(data: bytes) -> ElfHeader:
    assert data[:4] == b"\x7fELF", f"not an ELF file (magic {data[:4]!r})"
    ei_class, ei_data = data[4], data[5]
    assert ei_class in (1, 2) and ei_data in (1, 2), f"bad ELF ident {data[:16]!r}"
    order = ">" if ei_data == 2 else "<"
    e_type, machine = struct.unpack_from(order + "HH", data, 16)
    return ElfHeader(ei_class == 2, ei_data == 2, e_type, machine)


@dataclass(frozen=True, slots=True)
class PeHeader:
    machine: int
    optional_magic: int
    subsystem: int


def read_pe(data: bytes) -> PeHeader:
    assert data[:2] == b"MZ", f"not a PE file (magic {data[:2]!r})"
    (pe_offset,) = struct.unpack_from("<I", data, 0x3C)
    assert data[pe_offset:pe_offset + 4] == b"PE\0\0", "no PE signature at e_lfanew"
    (machine,) = struct.unpack_from("<H", data, pe_offset + 4)
    optional = pe_offset + 24  # after the signature and the 20-byte COFF header
    (magic,) = struct.unpack_from("<H", data, optional)
    (subsystem,) = struct.unpack_from("<H", data, optional + 68)
    return PeHeader(machine, magic, subsystem)


def embedded_version_offsets(data: bytes, version: str) -> list[int]:
    """Where the version string sits as data, not as part of the recorded `-X` flag text."""
    flag_prefix = b"main.Version="
    needle = version.encode()
    return [
        m.start() for m in re.finditer(re.escape(needle), data)
        if not data[:m.start()].endswith(flag_prefix)
    ]


# ---------------------------------------------------------------------------------------------
# (a) the Go modules' own checks


@pytest.mark.parametrize("module_dir", [AGNHOST, BUSYBOX], ids=lambda p: p.name)
def test_go_vet_and_unit_tests_pass(go: str, module_dir: Path) -> None:
    assert (module_dir / "go.mod").is_file()
    gofmt = Path(go).resolve().parent / "gofmt"
    unformatted = subprocess.run([gofmt, "-l", "."], cwd=module_dir, capture_output=True,
                                 text=True, timeout=60, check=True).stdout
    assert unformatted == "", f"gofmt -l lists:\n{unformatted}"
    run_go(go, ["vet", "./..."], module_dir)
    run_go(go, ["vet", "./..."], module_dir, GOOS="windows", GOARCH="amd64")
    proc = run_go(go, ["test", "-count=1", "./..."], module_dir)
    assert "FAIL" not in proc.stdout


def test_go_modules_use_only_the_standard_library() -> None:
    for module_dir in (AGNHOST, BUSYBOX):
        assert not (module_dir / "go.sum").exists(), f"{module_dir} has third-party modules"
        assert "require" not in (module_dir / "go.mod").read_text()


# ---------------------------------------------------------------------------------------------
# (b) cross-compilation with the upstream flags


def test_makefiles_give_the_upstream_flags() -> None:
    agnhost, busybox = read_payload(AGNHOST), read_payload(BUSYBOX)
    assert agnhost.srcs == ("agnhost",)
    assert agnhost.ldflags_arg == f"-w -X 'main.Version={agnhost.version}'"
    assert busybox.srcs == ("hostname",)
    assert busybox.ldflags_arg == "-w"


def test_catalog_reads_the_same_payloads() -> None:
    """The builder compiles from the catalog's metadata: it must agree with these builds."""
    from e2e_images.catalog import load_catalog

    catalog = {spec.dir: spec for spec in load_catalog(IMAGES).images}
    for name, directory in (("agnhost", AGNHOST), ("busybox", BUSYBOX)):
        payload = read_payload(directory)
        go_binaries = catalog[name].go
        assert (go_binaries.srcs, go_binaries.ld_flags) == (payload.srcs, payload.ld_flags)


@pytest.mark.parametrize("target", [t for t in TARGETS if t.os == "linux"], ids=lambda t: t.id)
def test_linux_build_is_an_elf_for_the_arch(
    go: str, agnhost_builds: dict[str, Path], agnhost_payload: GoPayload, target: Target
) -> None:
    binary = agnhost_builds[target.id]
    data = binary.read_bytes()
    elf = read_elf(data)
    assert elf.machine == target.elf_machine, f"{target.id}: e_machine {elf.machine}"
    assert elf.is_64bit == target.elf_64bit
    assert elf.big_endian == target.big_endian
    assert elf.e_type == 2, "a static Go binary is ET_EXEC"
    assert embedded_version_offsets(data, agnhost_payload.version), "-X main.Version not linked"

    info = run_go(go, ["version", "-m", str(binary)], AGNHOST).stdout
    assert "\tCGO_ENABLED=0" in info
    assert f"\tGOARCH={target.arch}" in info
    if target.goarm:
        assert f"\tGOARM={target.goarm}" in info


def test_windows_build_is_a_pe32_plus_console_exe(
    agnhost_builds: dict[str, Path], agnhost_payload: GoPayload
) -> None:
    data = agnhost_builds[WINDOWS_AMD64.id].read_bytes()
    pe = read_pe(data)
    assert pe.machine == 0x8664, f"machine {pe.machine:#x}"
    assert pe.optional_magic == 0x20B, f"optional header magic {pe.optional_magic:#x} (PE32+)"
    assert pe.subsystem == 3, "a container entrypoint must be a console program"
    assert embedded_version_offsets(data, agnhost_payload.version), "-X main.Version not linked"


def test_version_flag_prints_the_version(
    agnhost_builds: dict[str, Path], agnhost_payload: GoPayload
) -> None:
    proc = subprocess.run([agnhost_builds[LINUX_AMD64.id], "--version"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert (proc.returncode, proc.stdout) == (0, agnhost_payload.version + "\n")
    usage = subprocess.run([agnhost_builds[LINUX_AMD64.id]],
                           capture_output=True, text=True, timeout=30, check=False)
    assert usage.returncode == 0
    for command in ("pause", "netexec", "test-webserver", "serve-hostname", "dns-suffix",
                    "dns-server-list", "mounttest", "liveness", "porter"):
        assert f"  {command} " in usage.stdout, f"usage lacks {command}"


@pytest.mark.parametrize("target", [t for t in TARGETS if t.qemu], ids=lambda t: t.id)
def test_foreign_arch_build_runs_under_qemu(
    agnhost_builds: dict[str, Path], agnhost_payload: GoPayload, target: Target
) -> None:
    qemu = shutil.which(target.qemu)
    if qemu is None:
        pytest.skip(f"{target.qemu} not installed (apt-get install qemu-user-static)")
    proc = subprocess.run([qemu, agnhost_builds[target.id], "--version"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout) == (0, agnhost_payload.version + "\n"), proc.stderr


@pytest.mark.parametrize("target", [LINUX_AMD64, WINDOWS_AMD64], ids=lambda t: t.id)
def test_busybox_hostname_builds(go: str, tmp_path: Path, target: Target) -> None:
    payload = read_payload(BUSYBOX)
    binary = build(go, payload, "hostname", target, tmp_path)
    data = binary.read_bytes()
    if target.os == "windows":
        assert read_pe(data).machine == 0x8664
        return
    assert read_elf(data).machine == target.elf_machine
    proc = subprocess.run([binary], capture_output=True, text=True, timeout=30, check=False)
    assert (proc.returncode, proc.stdout) == (0, socket.gethostname() + "\n")
    fqdn = subprocess.run([binary, "--fqdn"], capture_output=True, text=True, timeout=30,
                          check=False)
    assert fqdn.returncode == 0 and fqdn.stdout.strip(), fqdn.stderr


# ---------------------------------------------------------------------------------------------
# (c) the linux/amd64 build serving for real


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: str


def http_get(url: str) -> Reply:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return Reply(resp.status, resp.read().decode())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.read().decode())


@contextmanager
def agnhost_process(
    binary: Path, args: list[str], log_dir: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    log = log_dir / f"agnhost-{args[0]}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def wait_http(proc: subprocess.Popen[bytes], url: str, log_dir: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            logs = "\n".join(p.read_text() for p in log_dir.glob("*.log"))
            pytest.fail(f"agnhost exited {proc.returncode} before serving:\n{logs}")
        try:
            http_get(url)
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"agnhost did not serve {url} within 15 s")


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=10)


def test_netexec_serves_and_stops_on_sigterm(
    agnhost_builds: dict[str, Path], tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["netexec", f"--http-port={port}", "--udp-port=-1"]
    with agnhost_process(agnhost_builds[LINUX_AMD64.id], args, tmp_path) as proc:
        wait_http(proc, base + "/healthz", tmp_path)
        assert http_get(base + "/hostname") == Reply(200, socket.gethostname())
        assert http_get(base + "/echo?msg=hi") == Reply(200, "hi")
        assert http_get(base + "/healthz") == Reply(200, "ok")
        client = http_get(base + "/clientip")
        assert client.status == 200 and client.body.startswith("127.0.0.1:")
        assert stop(proc) == 0, "SIGTERM is a clean shutdown"


def test_netexec_exit_endpoint_sets_the_exit_code(
    agnhost_builds: dict[str, Path], tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["netexec", f"--http-port={port}", "--udp-port=-1"]
    with agnhost_process(agnhost_builds[LINUX_AMD64.id], args, tmp_path) as proc:
        wait_http(proc, base + "/healthz", tmp_path)
        assert http_get(base + "/exit?code=7") == Reply(200, "exiting with code 7")
        assert proc.wait(timeout=10) == 7


@pytest.mark.parametrize("use_root_flag", [False, True], ids=["working-dir", "root-flag"])
def test_webserver_serves_index_html(
    agnhost_builds: dict[str, Path], tmp_path: Path, use_root_flag: bool
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    page = "<html><body>nautilus</body></html>\n"
    (site / "index.html").write_text(page)
    (site / "data.txt").write_text("data")
    port = free_port()
    args = ["test-webserver", f"--port={port}"]
    cwd = tmp_path if use_root_flag else site
    if use_root_flag:
        args.append(f"--root={site}")
    with agnhost_process(agnhost_builds[LINUX_AMD64.id], args, tmp_path, cwd=cwd) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_http(proc, base + "/", tmp_path)
        assert http_get(base + "/") == Reply(200, page)
        assert http_get(base + "/data.txt") == Reply(200, "data")
        assert http_get(base + "/missing").status == 404
        assert stop(proc) == 0


def test_pause_exits_zero_on_sigterm(agnhost_builds: dict[str, Path], tmp_path: Path) -> None:
    log = tmp_path / "agnhost-pause.log"
    with agnhost_process(agnhost_builds[LINUX_AMD64.id], ["pause"], tmp_path) as proc:
        deadline = time.monotonic() + 10
        while "waiting for SIGTERM" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "waiting for SIGTERM" in log.read_text(), "pause never said it was waiting"
        assert proc.poll() is None, "pause returned before any signal"
        assert stop(proc) == 0
