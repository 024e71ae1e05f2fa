"""fetch_busybox_binaries: idempotent, apt-free once cached, and clear when it fails."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from e2e_images.hermetic import StandinError
from e2e_images.hermetic.busybox import BUSYBOX_ARCHES, BusyboxBinaries, fetch_busybox_binaries


def test_cached_binaries_need_no_apt(busybox_binaries: BusyboxBinaries, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(busybox_binaries.cache_dir, cache, ignore=shutil.ignore_patterns(".lock",
                                                                                    ".fetch-*"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no apt-get, no dpkg
    again = fetch_busybox_binaries(cache)
    assert again.versions == busybox_binaries.versions
    assert again.applets == busybox_binaries.applets
    assert "sh" in again.applets and "busybox" not in again.applets
    for arch in BUSYBOX_ARCHES:
        assert again.binary(arch.goarch).read_bytes() == \
            busybox_binaries.binary(arch.goarch).read_bytes()


def test_missing_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(StandinError, match="dpkg is not installed"):
        fetch_busybox_binaries(tmp_path / "cache")


def test_unreachable_archive_is_reported_as_such(tmp_path: Path,
                                                 busybox_binaries: BusyboxBinaries) -> None:
    # Real apt-get, pointed at a proxy port nobody listens on: the archive is unreachable.
    s390x = [a for a in BUSYBOX_ARCHES if a.goarch == "s390x"]
    proxy = f"Acquire::http::Proxy=http://127.0.0.1:{_dead_port()}"
    with pytest.raises(StandinError) as err:
        fetch_busybox_binaries(tmp_path / "cache", s390x,
                               apt_options=["-o", proxy, "-o", "Acquire::Retries=0"])
    text = str(err.value)
    assert "busybox-static:s390x" in text
    assert "apt could not reach the Debian archive" in text


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
