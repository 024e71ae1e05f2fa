"""A misbehaving proxy in front of a real registry: the client retries, then gives up clearly."""

from __future__ import annotations

import os
import time

import pytest
from regtest_images import PLATFORMS, push_image
from regtest_proxy import FaultProxy

from e2e_images.errors import RetriesExhausted
from e2e_images.oci.digest import sha256_digest
from e2e_images.registry.client import RegistryClient
from e2e_images.registry.credentials import ANONYMOUS


def _via(proxy: FaultProxy, **kwargs: object) -> RegistryClient:
    return RegistryClient(proxy.host, credentials=ANONYMOUS, backoff=0.01, **kwargs)  # type: ignore[arg-type]


def test_push_and_pull_survive_drops_and_503s(client: RegistryClient, proxy: FaultProxy
                                              ) -> None:
    via = _via(proxy)
    proxy.plan.extend(["drop", "503", "drop", "503"])
    manifest = push_image(via, "faults/app", PLATFORMS[0], "f", ref="v1")
    proxy.plan.extend(["503", "drop"])
    assert via.get_manifest("faults/app", "v1").raw == manifest.raw
    assert proxy.count(action="drop") == 3 and proxy.count(action="503") == 3
    assert client.head_manifest("faults/app", "v1") is not None


def test_chunked_upload_survives_faults(client: RegistryClient, proxy: FaultProxy) -> None:
    data = os.urandom(5000)
    via = _via(proxy, chunk_size=1000)
    proxy.plan.extend(["forward", "forward", "forward", "503", "drop", "forward", "503"])
    assert via.push_blob("faults/chunks", data, chunked=True) == sha256_digest(data)
    with client.open_blob("faults/chunks", sha256_digest(data)) as f:
        assert f.read() == data


def test_429_honours_retry_after(proxy: FaultProxy) -> None:
    via = _via(proxy)
    proxy.retry_after = "1"
    proxy.plan.append("429")
    start = time.monotonic()
    via.ping()
    assert time.monotonic() - start >= 0.9  # backoff alone would be 0.01s
    assert proxy.count(action="429") == 1


def test_gives_up_after_the_bound(proxy: FaultProxy) -> None:
    via = _via(proxy, retries=3)
    proxy.always = "503"
    with pytest.raises(RetriesExhausted) as exc:
        via.head_manifest("faults/down", "latest")
    assert proxy.count() == 4  # first try + 3 retries
    text = str(exc.value)
    assert "HEAD /v2/faults/down/manifests/latest" in text
    assert "gave up after 4 attempts" in text and "HTTP 503" in text
    assert exc.value.status == 503
    proxy.always = "drop"
    with pytest.raises(RetriesExhausted, match=r"GET /v2/: gave up .*ConnectionError"):
        via.ping()


def test_blob_download_resumes_after_a_dropped_body(client: RegistryClient,
                                                    proxy: FaultProxy) -> None:
    data = os.urandom(200_000)
    digest = client.push_blob("faults/resume", data)
    via = _via(proxy)
    proxy.plan.append("truncate")
    with via.open_blob("faults/resume", digest) as f:
        assert f.read() == data
    gets = [s for s in proxy.seen if s.method == "GET"]
    assert [s.action for s in gets] == ["truncate", "forward"]
    assert gets[1].headers.get("Range", "").startswith("bytes=")
