"""A RUN stage (buildah) builds with a cold cache behind a proxy failing 20% of requests.

Every client of the build goes through the fault proxy: the registry it pushes to and the
mirror of the upstream bases are both the proxy's address. buildah itself never pulls (its
bases are fetched by our client, with retries, into a local layout it imports), so its lack
of retries cannot fail the build.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from e2e_images.hermetic.standins import seed_host
from e2e_images.registry.embedded import EmbeddedRegistry

sys.path.append(str(Path(__file__).parents[1] / "registry"))
from regtest_proxy import FaultProxy

PROJECT = Path(__file__).resolve().parents[2]
FAULTS = ("503", "429", "drop")


class RandomFaults(FaultProxy):
    """20% of requests get a fault, chosen by a seeded generator."""

    def __init__(self, upstream: str, rate: float, seed: int) -> None:
        super().__init__(upstream, retry_after="0")
        self.rate, self.rng, self.rng_lock = rate, random.Random(seed), threading.Lock()

    def _next_action(self) -> str:
        with self.rng_lock:
            hit = self.rng.random() < self.rate
            return self.rng.choice(FAULTS) if hit else "forward"


def test_run_stage_builds_behind_a_faulty_proxy(tmp_path):
    with EmbeddedRegistry(tmp_path / "registry") as reg:
        mirror_map, _ = seed_host(reg.host)
        proxy = RandomFaults(reg.host, 0.2, seed=15).start()
        try:
            mirrors = tmp_path / "mirrors.yaml"
            mirrors.write_text(yaml.safe_dump({
                m.upstream: m.mirror.replace(reg.host, proxy.host, 1)
                for m in mirror_map.mirrors}))
            out = tmp_path / "report.json"
            proc = subprocess.run(
                [sys.executable, "-m", "e2e_images.cli", "build", "busybox", "agnhost",
                 "--platform", "linux/amd64", "--images-dir", str(PROJECT / "images"),
                 "--cache-dir", str(tmp_path / "cache"), "--registry",
                 f"{proxy.host}/e2e-test-images", "--mirrors", str(mirrors),
                 "--json", str(out)],
                capture_output=True, text=True, timeout=900)
        finally:
            proxy.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    agnhost = next(t for t in report["targets"] if t["id"] == "agnhost-linux-amd64")
    assert agnhost["backend"] == "buildah" and agnhost["digest"], agnhost
    faults = sum(proxy.count(action=a) for a in FAULTS)
    assert faults >= 5, f"only {faults} faults of {len(proxy.seen)} requests"
