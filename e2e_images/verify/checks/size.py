"""Size budgets, from the manifest alone (compressed layer sizes; nothing is downloaded)."""

from __future__ import annotations

from dataclasses import dataclass

from e2e_images.verify.result import CheckResult, Finding
from e2e_images.verify.view import ImageView

__all__ = ["SizeCheck", "parse_size"]

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 1 << 10,
          "MIB": 1 << 20, "GIB": 1 << 30}


def parse_size(value: int | str) -> int:
    """`1048576`, `20MiB`, `1.5 MB` -> bytes; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"size {value!r} is not a number of bytes")
    if isinstance(value, int):
        return value
    text = str(value).strip().upper().replace(" ", "")
    number = text.rstrip("KMGIB")
    unit = text[len(number):]
    try:
        return int(float(number) * _UNITS[unit])
    except (KeyError, ValueError):
        raise ValueError(f"size {value!r}: want bytes or a number with KB/MB/GB/KiB/MiB/GiB"
                         ) from None


@dataclass(frozen=True, slots=True)
class SizeCheck:
    added_bytes: int | None = None  # compressed bytes of the layers the build added
    total_bytes: int | None = None  # compressed bytes of every layer

    def validate(self) -> None:
        for v in (self.added_bytes, self.total_bytes):
            if v is not None and v <= 0:
                raise ValueError("size limits must be positive")

    def run(self, view: ImageView) -> CheckResult:
        out: list[Finding] = []
        layers = view.image.manifest.layers
        added = sum(d.size for d in layers[view.base_layers:])
        total = sum(d.size for d in layers)
        if self.added_bytes is not None and added > self.added_bytes:
            out.append(Finding("SIZE", view.platform, "addedLayers",
                               f"{added:,} bytes in {len(layers) - view.base_layers} added "
                               f"layers, the budget is {self.added_bytes:,}"))
        if self.total_bytes is not None and total > self.total_bytes:
            out.append(Finding("SIZE", view.platform, "layers",
                               f"{total:,} bytes in all layers, the budget is "
                               f"{self.total_bytes:,}"))
        return CheckResult("size", view.subject, tuple(out))
