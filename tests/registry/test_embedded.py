"""The embedded registry process: start/stop, the shared per-run instance, and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from e2e_images.errors import RegistryError
from e2e_images.registry.embedded import EmbeddedRegistry, render_config, shared_registry

_SHARED_USER = """
import sys, time
from e2e_images.registry.embedded import shared_registry
reg = shared_registry(sys.argv[1])
print(reg.host, reg.pid, flush=True)
sys.stdin.readline()
reg.release()
"""


def _up(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_start_stop_and_config(registry_binary: str, tmp_path: Path) -> None:
    reg = EmbeddedRegistry(tmp_path, binary=registry_binary)
    with reg:
        assert reg.host.startswith("127.0.0.1:") and _up(reg.host)
        text = (tmp_path / "config.yml").read_text()
        assert f'rootdirectory: "{tmp_path / "storage"}"' in text
        assert "level: warn" in text and f'addr: "{reg.host}"' in text
    assert not _up(reg.host)
    assert "enabled: true" in render_config(tmp_path, 5000).split("delete:")[1]


def test_taken_port_is_a_clear_error(registry_binary: str, tmp_path: Path) -> None:
    with EmbeddedRegistry(tmp_path / "a", binary=registry_binary) as first:
        second = EmbeddedRegistry(tmp_path / "b", port=first.port, binary=registry_binary)
        try:
            with pytest.raises(RegistryError, match=r"would not listen|address already in use"):
                second.start()
        finally:
            second.stop()


def test_missing_binary_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as exc:
        EmbeddedRegistry(tmp_path, binary=str(tmp_path / "no-such-registry"))
    assert "apt-get install docker-registry" in str(exc.value)


def test_shared_registry_is_started_once_and_stopped_by_the_last_user(
        registry_binary: str, tmp_path: Path) -> None:
    base = tmp_path / "run"
    users = [subprocess.Popen([sys.executable, "-c", _SHARED_USER, str(base)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        seen = {u.stdout.readline().strip() for u in users}  # type: ignore[union-attr]
        assert len(seen) == 1  # both workers got the same process
        host, pid = seen.pop().split()
        assert _up(host)
        assert json.loads((base / "registry.json").read_text())["users"] == 2
        users[0].communicate("\n", timeout=30)  # the first (the starter) leaves: still up
        assert _up(host)
        users[1].communicate("\n", timeout=30)  # the last one out stops it
        assert not _up(host)
        assert not (base / "registry.json").exists()
        assert not Path(f"/proc/{pid}/cmdline").exists() or not Path(
            f"/proc/{pid}/cmdline").read_bytes()
    finally:
        for u in users:
            if u.poll() is None:
                u.kill()
                u.wait()
            for pipe in (u.stdin, u.stdout):
                if pipe and not pipe.closed:
                    pipe.close()
    with shared_registry(base) as again:  # a new run starts a fresh one
        assert _up(again.host)
    assert not _up(again.host)


def test_cli_serve_prints_the_address_and_stops_on_sigint(registry_binary: str,
                                                          tmp_path: Path) -> None:
    storage = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-m", "e2e_images.cli", "registry", "serve",
                             "--storage", str(storage)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("registry listening on 127.0.0.1:"), line
        host = line.split()[3]
        assert _up(host) and storage.is_dir()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert not _up(host)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
