"""The build benchmark's machinery: the counting proxy's figures, and a --quick run end to end.

No timing is asserted here (performance targets are the benchmark's own PASS/FAIL lines);
these tests check that the figures it prints are real measurements.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_images.oci.digest import sha256_digest
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.embedded import DEFAULT_BINARY, EmbeddedRegistry

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from counting_proxy import CountingProxy  # noqa: E402

needs_registry = pytest.mark.skipif(not Path(DEFAULT_BINARY).exists(),
                                    reason=f"{DEFAULT_BINARY} (docker-registry) not installed")


@pytest.fixture
def proxied(tmp_path: Path):
    with EmbeddedRegistry(tmp_path / "reg") as registry, CountingProxy(registry.host) as proxy:
        yield proxy


@needs_registry
def test_proxy_counts_request_and_response_bodies_exactly(proxied: CountingProxy) -> None:
    client = RegistryClient(proxied.host)
    blob = os.urandom(300_000)
    digest = sha256_digest(blob)
    before = proxied.traffic()
    client.push_blob("bench/blob", blob, digest=digest)
    pushed = proxied.traffic() - before
    assert pushed.pushed == len(blob)
    assert pushed.pulled == 0

    before = proxied.traffic()
    with client.open_blob("bench/blob", digest) as stream:
        assert stream.read() == blob
    pulled = proxied.traffic() - before
    assert (pulled.pushed, pulled.pulled) == (0, len(blob))


@needs_registry
def test_proxy_decodes_chunked_request_bodies(proxied: CountingProxy) -> None:
    """Go clients (buildah) upload streams with chunked encoding: payload bytes count."""
    body = [os.urandom(70_000), os.urandom(5), os.urandom(123_456)]
    whole = b"".join(body)
    name, port = proxied.host.split(":")
    conn = http.client.HTTPConnection(name, int(port), timeout=30)
    conn.request("POST", "/v2/bench/chunked/blobs/uploads/")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 202
    location = resp.getheader("Location")
    before = proxied.traffic()
    conn.request("PATCH", location, body=iter(body), encode_chunked=True,
                 headers={"Content-Type": "application/octet-stream"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 202, resp.status
    assert (proxied.traffic() - before).pushed == len(whole)
    location = resp.getheader("Location")
    sep = "&" if "?" in location else "?"
    conn.request("PUT", f"{location}{sep}digest={sha256_digest(whole)}")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 201, resp.status
    conn.close()
    # The registry stored exactly what the client sent, through the proxy.
    with RegistryClient(proxied.host).open_blob("bench/chunked",
                                                sha256_digest(whole)) as stream:
        assert stream.read() == whole


@needs_registry
@pytest.mark.skipif(shutil.which("buildah") is None or shutil.which("go") is None,
                    reason="buildah or go not installed")
def test_quick_benchmark_reports_measured_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "build.py"), "--quick", "--workdir", str(tmp_path / "w"),
         "--json", str(out), "--windows-base-bytes", str(8 << 20)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report = json.loads(out.read_text())
    figures = {f["scenario"]: f for f in report["figures"]}
    assert set(figures) == {"a", "b", "c", "d"}
    a, b, c, d = (figures[k] for k in "abcd")
    # (a) really built and pushed the five quick targets through the proxy.
    assert a["targets"] == 5 and a["failed"] == [], a["errors"]
    assert a["pushed"] > 100_000 and a["pulled"] > 0
    # (b) ran buildah and pushed real images; failures are listed, with their errors.
    assert b["targets"] == 5 and b["pushed"] > 100_000
    assert set(b["failed"]) == set(b["errors"])
    # (c) rebuilt the same targets: it pushes at most a fraction of what (a) did.
    assert c["failed"] == [] and c["pushed"] < a["pushed"] / 10
    # (d) built on the filled base; the base's bytes are at least the filler.
    assert report["windows_base_bytes"] >= 8 << 20
    assert d["failed"] == [] and 0 < d["pulled"] < report["windows_base_bytes"]
    verdicts = {v["target"]: v for v in report["verdicts"]}
    assert set(verdicts) == {"a", "c", "d"}
    for line in ("(a)", "(c)", "(d)"):
        assert any(s.startswith(("PASS " + line, "FAIL " + line))
                   for s in result.stdout.splitlines()), result.stdout
