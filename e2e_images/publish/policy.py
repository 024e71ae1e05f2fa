"""Which images may be proposed for promotion: the catalog's optional `promotion.yaml`.

An upstream `test/images` tree has no such file and works unchanged: every image is
promotable except the helper and cache images upstream never promotes (`BUILTIN`). The file
adds names, each with the reason shown when promote skips it:

    # images/promotion.yaml
    never-promote:
      windows-servercore-cache: a Linux cache of servercore DLLs, rebuilt monthly
      my-helper: build helper only

Names are published names (after ALIAS) or catalog directories. Staging-only mirrors come
from the mirror config (`publish.mirror`), not from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from e2e_images.publish.files import PublishInputError, read_yaml

__all__ = ["BUILTIN", "POLICY_FILE", "PromotionPolicy", "load_policy"]

POLICY_FILE = "promotion.yaml"

BUILTIN: Mapping[str, str] = {
    "windows-servercore-cache": "helper cache image (servercore DLLs), never promoted",
    "powershell-helper": "helper cache image (PowerShell), never promoted",
    "busybox-helper": "helper image, never promoted",
}


@dataclass(frozen=True, slots=True)
class PromotionPolicy:
    never: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN))
    source: str = "built-in"

    def reason(self, *names: str) -> str | None:
        """Why none of `names` (published name, directory) may be promoted; None: promotable."""
        return next((self.never[n] for n in names if n in self.never), None)


def load_policy(images_dir: str | Path | None = None, path: str | Path | None = None
                ) -> PromotionPolicy:
    """`path`, else `<images_dir>/promotion.yaml` when present, else the built-in policy."""
    if path is None and images_dir is not None:
        candidate = Path(images_dir) / POLICY_FILE
        path = candidate if candidate.is_file() else None
    if path is None:
        return PromotionPolicy()
    data = read_yaml(path, what="promotion policy")
    if data is None:
        return PromotionPolicy(source=str(path))
    if not isinstance(data, dict) or set(data) - {"never-promote"}:
        raise PublishInputError("a promotion policy has one key, `never-promote:`",
                                path=str(path), hint="never-promote: {image-name: reason}")
    listed = data.get("never-promote") or {}
    if isinstance(listed, list):
        listed = {str(n): "listed in never-promote" for n in listed}
    if not isinstance(listed, dict) or not all(isinstance(k, str) for k in listed):
        raise PublishInputError("never-promote must map image names to reasons",
                                path=str(path))
    never = dict(BUILTIN)
    never.update({k: str(v or f"never-promote in {path}") for k, v in listed.items()})
    return PromotionPolicy(never, str(path))
