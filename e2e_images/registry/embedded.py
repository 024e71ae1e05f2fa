"""A real CNCF distribution registry (`docker-registry serve`) on a free loopback port.

Tests and `e2e-images registry serve` use it instead of a fake: what passes here passes against
a real registry. `shared_registry` gives one process per test run to every xdist worker.
Imports only the stdlib, filelock and errors (no HTTP client: readiness is a urllib GET).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import filelock

from e2e_images.errors import RegistryError

__all__ = ["EmbeddedRegistry", "SharedRegistry", "TokenAuth", "find_binary", "shared_registry",
           "stop_shared"]

DEFAULT_BINARY = "/usr/bin/docker-registry"
_BIND_ATTEMPTS = 4
_READY_TIMEOUT = 20.0
_INSTANCE_HEADER = "X-E2e-Images-Instance"


@dataclass(frozen=True, slots=True)
class TokenAuth:
    """distribution's `auth: token:` section: JWTs from `realm`, checked against the bundle."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: str


def find_binary(binary: str | None = None) -> str:
    path = binary or shutil.which("docker-registry") or DEFAULT_BINARY
    if not os.access(path, os.X_OK):
        raise RegistryError(f"no registry binary at {path}",
                            hint="apt-get install docker-registry")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def render_config(storage: Path, port: int, auth: TokenAuth | None = None,
                  instance: str = "", address: str = "127.0.0.1") -> str:
    """`instance` goes out as a response header, so readiness checks know whose port it is."""
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {_q(str(storage))}",
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "http:",
        f"  addr: {_q(f'{address}:{port}')}",
    ]
    if instance:
        lines += ["  headers:", f"    {_INSTANCE_HEADER}: [{_q(instance)}]"]
    if auth is not None:
        lines += [
            "auth:",
            "  token:",
            f"    realm: {_q(auth.realm)}",
            f"    service: {_q(auth.service)}",
            f"    issuer: {_q(auth.issuer)}",
            f"    rootcertbundle: {_q(auth.rootcertbundle)}",
        ]
    return "\n".join(lines) + "\n"


def _answers(url: str, instance: str = "") -> bool:
    """/v2/ answers 200 (or 401: up, wants a token), from our process when `instance` is set."""
    try:
        with urllib.request.urlopen(url + "/v2/", timeout=2) as resp:
            status, headers = resp.status, resp.headers
    except urllib.error.HTTPError as exc:
        status, headers = exc.code, exc.headers
    except (urllib.error.URLError, OSError):
        return False
    if instance and headers.get(_INSTANCE_HEADER) != instance:
        return False
    return status in (200, 401)


class EmbeddedRegistry:
    """One registry process with its own storage, config and log under `base_dir`."""

    def __init__(self, base_dir: str | os.PathLike[str], *, port: int | None = None,
                 auth: TokenAuth | None = None, binary: str | None = None,
                 storage: str | os.PathLike[str] | None = None, detach: bool = False,
                 address: str = "127.0.0.1") -> None:
        """`detach` puts the process in its own session, to outlive the caller (shared use);
        otherwise it stays in the caller's process group and a Ctrl-C reaches it too.
        `address` is the interface to listen on (loopback unless asked: plain HTTP)."""
        self.detach = detach
        self.address = address
        self.base_dir = Path(base_dir)
        self.storage = Path(storage) if storage else self.base_dir / "storage"
        self.binary = find_binary(binary)
        self.auth = auth
        self._want_port = port
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def log_path(self) -> Path:
        return self.base_dir / "registry.log"

    def start(self) -> EmbeddedRegistry:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._want_port else _BIND_ATTEMPTS
        for _ in range(attempts):
            self.port = self._want_port or free_port(self.address)
            if self._launch():
                return self
        raise RegistryError(f"docker-registry would not listen on {self.host}: "
                            f"{self._log_tail()}", path=str(self.log_path))

    def _launch(self) -> bool:
        """True once /v2/ answers; False when the port was taken under us (retry another)."""
        config = self.base_dir / "config.yml"
        instance = secrets.token_hex(8)
        config.write_text(render_config(self.storage, self.port, self.auth, instance,
                                         self.address))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=self.detach)
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "address already in use" in self._log_tail():
                    return False
                raise RegistryError(
                    f"docker-registry exited with status {self.process.returncode}: "
                    f"{self._log_tail()}", path=str(self.log_path))
            if _answers(self.url, instance):
                return True
            time.sleep(0.05)
        self.stop()
        raise RegistryError(f"docker-registry did not answer on {self.url} within "
                            f"{_READY_TIMEOUT:.0f}s", path=str(self.log_path))

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1][-300:] if lines else "no output"

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> EmbeddedRegistry:
        return self.start() if self.process is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# -- one registry per test run, shared by xdist workers ----------------------------------
#
# Choice: reference counting in a JSON state file under a file lock. Each worker calls
# `shared_registry(base_dir)` (base_dir common to all workers, e.g. pytest's basetemp parent);
# the first starts the process (in its own session, so it outlives that worker), the others read
# its address and add themselves. `release()` (the finaliser) removes a user, and the last one
# out stops the process. A state file whose process is gone or deaf is replaced, so a crashed
# worker can leak at most one process until the next run with the same base_dir. Where one
# party owns the run's lifetime (pytest-xdist's controller), users only join and the owner
# calls `stop_shared` at the end: counting alone lets an early finisher stop it too soon.

@dataclass(frozen=True, slots=True)
class SharedRegistry:
    host: str
    pid: int
    base_dir: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def release(self) -> None:
        _release(self.base_dir, self.pid)

    def __enter__(self) -> SharedRegistry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


_STARTED: list[subprocess.Popen[bytes]] = []


def _state_paths(base_dir: Path) -> tuple[filelock.FileLock, Path]:
    base_dir.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(base_dir / "registry.lock")), base_dir / "registry.json"


def _is_registry_pid(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"registry" in os.path.basename(cmdline.split(b"\0")[0])


def shared_registry(base_dir: str | os.PathLike[str], *,
                    binary: str | None = None) -> SharedRegistry:
    lock, state_path = _state_paths(Path(base_dir))
    with lock:
        state = json.loads(state_path.read_text()) if state_path.exists() else None
        if state and _is_registry_pid(state["pid"]) and _answers(f"http://{state['host']}"):
            state["users"] += 1
        else:
            reg = EmbeddedRegistry(Path(base_dir) / "shared", binary=binary,
                                   detach=True).start()
            assert reg.process is not None
            _STARTED.append(reg.process)  # outlives this call; whoever leaves last stops it
            state = {"host": reg.host, "pid": reg.process.pid, "users": 1}
        state_path.write_text(json.dumps(state))
        return SharedRegistry(state["host"], state["pid"], Path(base_dir))


def _release(base_dir: Path, pid: int) -> None:
    lock, state_path = _state_paths(base_dir)
    with lock:
        state = json.loads(state_path.read_text()) if state_path.exists() else None
        if not state or state["pid"] != pid:
            return
        state["users"] -= 1
        if state["users"] > 0:
            state_path.write_text(json.dumps(state))
            return
        state_path.unlink()
        _stop(pid)


def stop_shared(base_dir: str | os.PathLike[str]) -> None:
    """Stop the shared registry whatever its user count: for the one owner of a run's
    lifetime (pytest-xdist's controller), so a worker that finishes early cannot stop it
    under another that has not asked for it yet."""
    lock, state_path = _state_paths(Path(base_dir))
    with lock:
        if not state_path.exists():
            return
        pid = json.loads(state_path.read_text())["pid"]
        state_path.unlink()
        _stop(pid)


def _stop(pid: int) -> None:
    if _is_registry_pid(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        _reap(pid)


def _reap(pid: int, timeout: float = 5.0) -> None:
    """Wait for the process to go; reap it if it is our child, else poll /proc."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            if not Path(f"/proc/{pid}").exists():
                return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
