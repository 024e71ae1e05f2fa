"""kubernetes/k8s.io-style `images.yaml`: `- name:` entries, each a `dmap` of quoted
manifest-list digest -> list of tags.

The document is held round-trip (ruamel.yaml), so an existing file keeps its comments, its
order and its quoting; new digests are appended to their image's dmap and new images are
inserted in name order when the file is sorted by name (k8s.io's convention), else appended.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from e2e_images.oci.digest import is_digest
from e2e_images.publish.files import PublishInputError

__all__ = ["ImagesYaml", "TagEntry"]


@dataclass(frozen=True, slots=True)
class TagEntry:
    name: str
    tag: str
    digest: str


def _yaml() -> YAML:
    y = YAML()  # round-trip
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=2, offset=0)
    y.width = 4096
    return y


def _flow(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq([DoubleQuotedScalarString(i) for i in items])
    seq.fa.set_flow_style()
    return seq


class ImagesYaml:
    """One images.yaml document; `add` edits it in place, `dumps` renders it."""

    def __init__(self, doc: Any, source: str) -> None:
        self._doc = doc if doc is not None else CommentedSeq()
        self.source = source
        self._validate()

    @classmethod
    def parse(cls, text: str, *, source: str = "<images.yaml>") -> ImagesYaml:
        try:
            doc = _yaml().load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise PublishInputError(f"images.yaml is not valid YAML: "
                                    f"{getattr(exc, 'problem', exc)}", path=source,
                                    line=mark.line + 1 if mark is not None else None) from None
        return cls(doc, source)

    @classmethod
    def load(cls, path: str | Path) -> ImagesYaml:
        """The file's document, or an empty one when the file does not exist yet."""
        p = Path(path)
        if not p.exists():
            return cls(None, str(p))
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise PublishInputError(f"cannot read images.yaml: {exc.strerror}",
                                    path=str(p)) from None
        return cls.parse(text, source=str(p))

    def _fail(self, message: str, node: Any = None) -> PublishInputError:
        line = None
        lc = getattr(node, "lc", None)
        if lc is not None and lc.line is not None:
            line = lc.line + 1
        return PublishInputError(message, path=self.source, line=line,
                                 hint="entries are `- name: <image>` with `dmap:` of "
                                      "\"sha256:...\": [tags]")

    def _validate(self) -> None:
        if not isinstance(self._doc, list):
            raise self._fail("images.yaml must be a list of `- name:` entries", self._doc)
        seen_tags: dict[tuple[str, str], str] = {}
        names: set[str] = set()
        for entry in self._doc:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise self._fail("an entry without a `name:`", entry)
            name = entry["name"]
            if name in names:
                raise self._fail(f"image {name!r} is listed twice", entry)
            names.add(name)
            dmap = entry.get("dmap")
            if dmap is None:
                continue
            if not isinstance(dmap, dict):
                raise self._fail(f"{name}: dmap must map digests to tag lists", entry)
            for digest, tags in dmap.items():
                if not isinstance(digest, str) or not is_digest(digest):
                    raise self._fail(f"{name}: {digest!r} is not a digest", entry)
                if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                    raise self._fail(f"{name}: {digest} must map to a list of tags", entry)
                for tag in tags:
                    first = seen_tags.setdefault((name, tag), digest)
                    if first != digest:
                        raise self._fail(f"{name}:{tag} is listed for both {first} and "
                                         f"{digest}", entry)

    # -- reading -------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        return tuple(str(e["name"]) for e in self._doc)

    def entries(self) -> tuple[TagEntry, ...]:
        return tuple(TagEntry(str(e["name"]), str(t), str(d))
                     for e in self._doc for d, tags in (e.get("dmap") or {}).items()
                     for t in tags)

    def digest_of(self, name: str, tag: str) -> str | None:
        return next((e.digest for e in self.entries() if (e.name, e.tag) == (name, tag)), None)

    def has(self, name: str, digest: str, tag: str) -> bool:
        return TagEntry(name, tag, digest) in self.entries()

    # -- editing -------------------------------------------------------------------------

    def add(self, name: str, digest: str, tag: str) -> bool:
        """Record `name:tag` at `digest`; False when already there. The caller has checked
        that the tag is not held by another digest (`digest_of`)."""
        held = self.digest_of(name, tag)
        if held == digest:
            return False
        if held is not None:
            raise ValueError(f"{name}:{tag} is held by {held}")
        entry = next((e for e in self._doc if e["name"] == name), None)
        if entry is None:
            entry = CommentedMap()
            entry["name"] = name
            entry["dmap"] = CommentedMap()
            self._insert(entry)
        if entry.get("dmap") is None:
            entry["dmap"] = CommentedMap()
        dmap = entry["dmap"]
        if digest in dmap:
            dmap[digest].append(DoubleQuotedScalarString(tag))
        else:
            dmap[DoubleQuotedScalarString(digest)] = _flow([tag])
        return True

    def _insert(self, entry: CommentedMap) -> None:
        names = list(self.names())
        if names != sorted(names):
            self._doc.append(entry)
            return
        at = next((i for i, n in enumerate(names) if n > entry["name"]), len(names))
        self._doc.insert(at, entry)

    def dumps(self) -> str:
        out = io.StringIO()
        _yaml().dump(self._doc, out)
        text = out.getvalue()
        return "" if text.strip() == "[]" else text
