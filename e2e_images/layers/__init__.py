"""Layer tar formats: a Linux diff, a Windows-format layer, and the conversion between them.

The builders say what goes into a layer (`LayerEntry`s) and for which OS; this package alone
knows how each format writes it. `layers.linux` writes Linux diffs, `layers.winentries` holds
the Windows entry rules and `layers.windows` the one Windows writer, `layers.convert` turns
Linux entries into Windows ones, and `layers.security` encodes the security descriptors
Windows layers carry. Imports only the oci core and errors, so the builder, the stand-ins and
the verifier can all use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from e2e_images.errors import LayerError
from e2e_images.layers.convert import windows_entries
from e2e_images.layers.linux import LayerEntry, write_layer
from e2e_images.layers.windows import build_windows_layer
from e2e_images.oci.image import Layer

__all__ = ["layer_for"]

_Writer = Callable[[Iterable[LayerEntry], int, str], Layer]
_WRITERS: dict[str, _Writer] = {
    "linux": lambda entries, epoch, media_type: write_layer(
        entries, epoch=epoch, media_type=media_type),
    "windows": lambda entries, epoch, media_type: build_windows_layer(
        windows_entries(entries), epoch=epoch, media_type=media_type),
}


def layer_for(os: str, entries: Iterable[LayerEntry], *, epoch: int, media_type: str) -> Layer:
    """A layer holding `entries` in the format an `os` node imports, in memory."""
    writer = _WRITERS.get(os)
    if writer is None:
        raise LayerError(f"no layer format for os {os!r} (linux or windows)")
    return writer(entries, epoch, media_type)
