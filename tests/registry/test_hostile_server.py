"""`verify` against a loopback server that never ends its answer, or trickles it.

The server is a real HTTP server on loopback written here: one endpoint streams an endless
manifest as fast as the socket takes it, another sends one byte of a manifest every second.
The first must fail on the size cap while streaming (memory stays small), the second on the
request deadline (set low through its environment variable).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from e2e_images.errors import RegistryError
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS
from e2e_images.registry.limits import Limits

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop = threading.Event()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/v2/":
            self._small(b"{}")
        elif self.path.startswith("/v2/endless/manifests/"):
            self.send_response(200)
            self.send_header("Content-Type", MANIFEST)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"{" * (64 << 10)
            framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            try:
                while not self.stop.is_set():
                    self.wfile.write(framed)
            except OSError:
                return  # the client gave up: what the test wants
        elif self.path.startswith("/v2/trickle/manifests/"):
            self.send_response(200)
            self.send_header("Content-Type", MANIFEST)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while not self.stop.wait(1.0):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:
                return
        elif self.path.startswith("/v2/busy/"):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _small(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    _Hostile.stop.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        _Hostile.stop.set()
        server.shutdown()
        server.server_close()


def _peak_mb(pid: int) -> int:
    """The process's peak RSS since its exec (VmHWM; ru_maxrss would count the forking
    parent's memory too), 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) // 1024


def _verify(ref: str, **env: str) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in MB) of `e2e-images verify REF` in its own process."""
    proc = subprocess.Popen([sys.executable, "-m", "e2e_images.cli", "verify", ref],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ | env)
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, _peak_mb(proc.pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate(timeout=120)
    done.set()
    watcher.join()
    return proc.returncode, err, peak


def test_endless_manifest_fails_on_the_cap_with_little_memory(hostile):
    code, err, rss_mb = _verify(f"{hostile}/endless:1")
    assert code == 1, err
    assert "over the 4 MiB limit" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert 0 < rss_mb < 100, f"verify peaked at {rss_mb} MB"


def test_trickling_manifest_fails_at_its_deadline(hostile):
    started = time.monotonic()
    code, err, _ = _verify(f"{hostile}/trickle:1", E2E_IMAGES_REQUEST_DEADLINE="3",
                           E2E_IMAGES_READ_TIMEOUT="5")
    assert code == 1, err
    assert "within the 3s deadline" in err and "E2E_IMAGES_REQUEST_DEADLINE" in err, err
    # One byte a second would keep a reader without a deadline going for 100000 s.
    assert time.monotonic() - started < 60, err


def test_trickling_manifest_through_the_client_api(hostile):
    client = RegistryClient(hostile, credentials=ANONYMOUS,
                            limits=Limits(request_deadline=2, read_timeout=5))
    with pytest.raises(RegistryError, match="within the 2s deadline") as info:
        client.get_manifest("trickle", "1")
    assert info.value.code == "DEADLINE_EXCEEDED"


def test_operation_deadline_bounds_the_retries(hostile):
    """A request whose every attempt fails is retried only until the operation deadline."""
    client = RegistryClient(hostile, credentials=ANONYMOUS, retries=1000, backoff=0.05,
                            limits=Limits(operation_deadline=1.5))
    with pytest.raises(RegistryError, match=r"within the 1.5s deadline") as info:
        client.get_manifest("busy", "1")
    assert "HTTP 503" in str(info.value)
    assert "E2E_IMAGES_OPERATION_DEADLINE" in (info.value.hint or "")


def test_limits_from_the_environment_are_checked():
    assert Limits.from_env({"E2E_IMAGES_BLOB_DEADLINE": "60"}).blob_deadline == 60
    with pytest.raises(RegistryError, match="E2E_IMAGES_READ_TIMEOUT='soon'"):
        Limits.from_env({"E2E_IMAGES_READ_TIMEOUT": "soon"})
