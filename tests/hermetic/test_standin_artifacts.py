"""The ADD <url> mirror: pinned stand-in downloads served on loopback."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from e2e_images.hermetic import StandinError
from e2e_images.hermetic.artifacts import (
    MANIFEST_NAME,
    STANDIN_ARTIFACTS,
    ArtifactMirror,
    write_standin_artifacts,
)

PWSH = next(s.url for s in STANDIN_ARTIFACTS if "PowerShell" in s.url)
BUSYBOX_EXE = next(s.url for s in STANDIN_ARTIFACTS if s.url.endswith("busybox.exe"))


def fetch(url: str, proxy: str | None = None) -> bytes:
    handler = urllib.request.ProxyHandler({"http": proxy} if proxy else {})
    with urllib.request.build_opener(handler).open(url, timeout=10) as resp:
        return resp.read()


def test_stand_ins_are_deterministic_and_marked(tmp_path: Path) -> None:
    a = write_standin_artifacts(tmp_path / "a")
    b = write_standin_artifacts(tmp_path / "b")
    assert a == b
    assert (tmp_path / "a" / MANIFEST_NAME).read_bytes() == \
        (tmp_path / "b" / MANIFEST_NAME).read_bytes()
    for art in a:
        data = (tmp_path / "a" / art.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == art.sha256
        if art.path.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                exes = [n for n in z.namelist() if n.endswith(".exe")]
                assert exes and all(z.read(n).startswith(b"MZ") for n in exes)
        else:
            assert data.startswith(b"MZ") and b"E2E-IMAGES STAND-IN" in data


def test_mirror_serves_by_path_and_as_proxy(tmp_path: Path) -> None:
    write_standin_artifacts(tmp_path)
    with ArtifactMirror(tmp_path) as mirror:
        body = fetch(mirror.url_for(BUSYBOX_EXE))
        assert hashlib.sha256(body).hexdigest() == mirror.sha256_for(BUSYBOX_EXE)
        plain = PWSH.replace("https://", "http://")
        zipped = fetch(plain, proxy=mirror.proxy)
        assert hashlib.sha256(zipped).hexdigest() == mirror.sha256_for(PWSH)
        assert "pwsh.exe" in zipfile.ZipFile(io.BytesIO(zipped)).namelist()
        with pytest.raises(urllib.error.HTTPError) as err:
            fetch(f"http://{mirror.host}/example.com/not-there.exe")
        assert err.value.code == 404
        with pytest.raises(StandinError, match="no stand-in"):
            mirror.url_for("https://example.com/other.exe")


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    arts = write_standin_artifacts(tmp_path)
    (tmp_path / arts[0].path).write_bytes(b"MZ changed")
    with pytest.raises(StandinError, match="pinned sha256"), ArtifactMirror(tmp_path):
        pass


def test_manifest_cannot_point_outside(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "secret").write_bytes(b"x")
    (tmp_path / "m" / MANIFEST_NAME).write_text(json.dumps({"schemaVersion": 1, "artifacts": [
        {"url": "http://h/x", "path": "../secret", "sha256": "0" * 64, "size": 1}]}))
    with pytest.raises(StandinError, match="leaves the mirror"):
        ArtifactMirror(tmp_path / "m").__enter__()
