"""Applet symlinks (busybox on Windows): every link in a directory resolves, inside the image,
to one binary, through a relative target without a `Files/` prefix.

Targets resolve as Windows would: relative to the link's directory, in the merged image.
BuildKit writes `Files/`-prefixed targets into Windows layers (docker/buildx#373); where a copy
of the binary waits at the prefixed place (upstream busybox ships `bin/Files/busybox.exe`) the
applets work, so that is a warning; a link that leads nowhere is an error
(docs/windows-layers.md, W6). Absolute targets are findings even when the view resolves them.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from e2e_images.errors import LayerError
from e2e_images.oci.fs import EntryType
from e2e_images.verify.result import WARNING, CheckResult, Finding, Severity
from e2e_images.verify.view import ImageView

__all__ = ["SymlinkCheck"]


@dataclass(frozen=True, slots=True)
class SymlinkCheck:
    directory: str  # `/bin`
    resolves_to: str  # `/bin/busybox.exe`
    min_count: int = 1

    def validate(self) -> None:
        for path in (self.directory, self.resolves_to):
            if not path.startswith("/"):
                raise ValueError(f"symlinks: {path!r} must be absolute")
        if self.min_count < 0:
            raise ValueError("symlinks: minCount must be >= 0")

    def run(self, view: ImageView) -> CheckResult:
        out: list[Finding] = []

        def bad(path: str, message: str, severity: Severity = "error") -> None:
            out.append(Finding("LINKS", view.platform, path, message, severity))

        try:
            names = view.fs.listdir(self.directory)
        except LayerError:
            if not view.complete:
                return CheckResult("symlinks", view.subject, unverified=(self.directory,))
            return CheckResult("symlinks", view.subject, (Finding(
                "LINKS", view.platform, self.directory, "directory missing"),))
        wanted = view.fs.resolve(self.resolves_to) if view.fs.exists(self.resolves_to) else None
        if wanted is None and view.complete:
            bad(self.resolves_to, "link target binary missing")
        count = 0
        for name in names:
            path = posixpath.join(self.directory, name)
            entry = view.fs.lookup(path)
            if entry is None or entry.type is not EntryType.SYMLINK:
                continue
            count += 1
            target = entry.linkname
            slashed = target.replace("\\", "/")
            prefixed = slashed.startswith("Files/")
            if slashed.startswith("/") or (len(slashed) > 1 and slashed[1] == ":"):
                bad(path, f"target {target!r} is absolute, want relative")
            try:
                resolved = view.fs.resolve(path)
            except LayerError as exc:
                bad(path, exc.message)
                continue
            if resolved is None:
                bad(path, f"target {target!r} does not resolve inside the image"
                          + (" (BuildKit's Files/ prefix)" if prefixed else ""))
            elif prefixed and wanted is not None and resolved.path != wanted.path and \
                    resolved.size == wanted.size:
                bad(path, f"target {target!r} has BuildKit's Files/ prefix; it resolves to "
                          f"{resolved.path}, a copy of {wanted.path}", WARNING)
            elif wanted is not None and resolved.path != wanted.path:
                bad(path, f"resolves to {resolved.path}, want {wanted.path}")
            elif prefixed:
                bad(path, f"target {target!r} has BuildKit's Files/ prefix; it resolves",
                    WARNING)
        if count < self.min_count:
            bad(self.directory, f"{count} symlinks, want at least {self.min_count}")
        return CheckResult("symlinks", view.subject, tuple(out))
