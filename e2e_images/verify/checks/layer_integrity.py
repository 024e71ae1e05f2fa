"""Every layer verification reads is what the manifest and config say, and safe to unpack.

Which layers: the ones the build added when the base is known, else every layer (a bare
reference of a Linux image reads them all, so a broken base layer fails too). Each is streamed
once: its blob digest, its config `diff_id`, its gzip/zstd and tar framing, the decompression
limits, and (on Linux images; Windows layers have their own entry rules, W3-W11) every
entry the filesystem view refuses (`../`, absolute names, hard links to what is not in the
image, devices) become findings. Foreign layers (Windows bases that live
at their `urls`) are never fetched; they are listed as unverified.
"""

from __future__ import annotations

from dataclasses import dataclass

from e2e_images.errors import E2EImagesError
from e2e_images.oci import media_types as mt
from e2e_images.oci.fs import LayerFS
from e2e_images.verify.result import CheckResult, Finding
from e2e_images.verify.view import ImageView

__all__ = ["LayerIntegrityCheck"]

# LayerProblem kinds -> finding ids
_IDS = {"diff-id-mismatch": "LAYER-DIFFID", "truncated": "LAYER-TRUNCATED",
        "bad-header": "LAYER-TRUNCATED"}


@dataclass(frozen=True, slots=True)
class LayerIntegrityCheck:
    def validate(self) -> None:
        pass

    def run(self, view: ImageView) -> CheckResult:
        image, platform = view.image, view.platform
        findings: list[Finding] = []
        layers = image.layers()
        diff_ids = image.config.diff_ids
        if len(diff_ids) != len(layers):
            findings.append(Finding(
                check="LAYER-DIFFID", platform=platform, subject="rootfs.diff_ids",
                message=f"the config lists {len(diff_ids)} diff_ids for "
                        f"{len(layers)} layers"))
        start = view.base_layers
        read = [(i, layer) for i, layer in enumerate(layers) if i >= start]
        foreign = [layer.digest for _, layer in read if mt.is_foreign(layer.media_type)]
        read = [(i, layer) for i, layer in read if not mt.is_foreign(layer.media_type)]
        try:
            if not foreign and view.fs_start == start and len(diff_ids) == len(layers):
                fs = view.fs  # the view streams exactly these layers: read them once
            else:
                fs = LayerFS([layer for _, layer in read], windows=view.is_windows,
                             diff_ids=[diff_ids[i] if i < len(diff_ids) else ""
                                       for i, _ in read])
        except E2EImagesError as exc:
            findings.append(Finding(check="LAYER-UNREADABLE", platform=platform,
                                    subject=image.digest, message=str(exc)))
            return CheckResult("layer_integrity", view.subject, tuple(findings),
                               unverified=tuple(foreign))
        for p in fs.problems:
            if view.is_windows and p.kind not in _IDS:
                continue  # entries of Windows layers are judged by their own rules (W3-W11)
            index = read[p.layer][0]
            findings.append(Finding(
                check=_IDS.get(p.kind, "LAYER-ENTRY"), platform=platform,
                subject=p.name or p.digest,
                message=f"layer {index} ({p.digest[:19]}): {p.message}"
                        + (" (refused: not part of the filesystem)"
                           if p.kind not in _IDS else "")))
        return CheckResult("layer_integrity", view.subject, tuple(findings),
                           unverified=tuple(f"foreign layer {d} (lives at its urls; not "
                                            "fetched)" for d in foreign))
