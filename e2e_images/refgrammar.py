"""The reference grammar of distribution: tags and repository-name components.

Pure regular expressions with no imports, so the catalog (which may import almost nothing)
validates VERSION and ALIAS by the very rules `registry.reference` parses references with.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME", "is_repository_name", "is_tag"]

# distribution/reference: tag `[\w][\w.-]{0,127}` (ASCII \w), path component
# `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`, a whole name at most 255 characters.
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
MAX_NAME = 255


def is_tag(text: str) -> bool:
    return TAG.fullmatch(text) is not None


def is_repository_name(text: str) -> bool:
    """A repository path without registry: components joined by `/`."""
    return len(text) <= MAX_NAME and all(COMPONENT.fullmatch(p) for p in text.split("/"))
