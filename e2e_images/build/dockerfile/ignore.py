""".dockerignore rules and the path patterns COPY/ADD sources share with them.

Patterns follow Go's filepath.Match (`*` and `?` never cross `/`, `[...]` classes with `^`
negation and ranges, backslash escapes) plus `**` for any number of directories. A rule
that matches a directory covers everything under it; `!` rules re-include; the last
matching rule wins, as in Docker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from e2e_images.errors import DockerfileError

__all__ = ["DockerIgnore", "IgnoreRule", "clean_path", "compile_pattern", "has_magic",
           "parse_dockerignore"]


def clean_path(path: str) -> str:
    """Go's path.Clean for slash paths: no `.`, `..` folded where it can be, no trailing /."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append(part)
            continue
        parts.append(part)
    text = "/".join(parts)
    return ("/" + text) if rooted else (text or ".")


def has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    """Translate `[...]` starting at pattern[i] == '['; returns (regex, index after ']')."""
    i += 1
    negate = i < len(pattern) and pattern[i] == "^"
    if negate:
        i += 1
    items: list[str] = []
    first = True
    while True:
        if i >= len(pattern):
            raise ValueError("unterminated character class")
        ch = pattern[i]
        if ch == "]" and not first:
            break
        first = False
        if ch == "\\":
            i += 1
            if i >= len(pattern):
                raise ValueError("trailing backslash in character class")
            ch = pattern[i]
        low = ch
        i += 1
        if i + 1 < len(pattern) and pattern[i] == "-" and pattern[i + 1] != "]":
            high = pattern[i + 1]
            i += 2
            if high == "\\":
                if i >= len(pattern):
                    raise ValueError("trailing backslash in character class")
                high = pattern[i]
                i += 1
            if high < low:
                raise ValueError(f"bad range {low}-{high}")
            items.append(f"{re.escape(low)}-{re.escape(high)}")
        else:
            items.append(re.escape(low))
    body = "".join(items)
    regex = f"(?!/)[^{body}]" if negate else f"(?!/)[{body}]"
    return regex, i + 1


def compile_pattern(pattern: str, *, double_star: bool = True) -> re.Pattern[str]:
    """A slash pattern -> an anchored regex; ValueError for a malformed pattern."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if double_star and pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):
                    i += 1
                out.append(".*" if i >= n else "(?:.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            regex, i = _char_class(pattern, i)
            out.append(regex)
            continue
        elif ch == "\\":
            i += 1
            if i >= n:
                raise ValueError("trailing backslash")
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    pattern: str  # cleaned, context-relative
    exception: bool  # a `!` rule: re-include
    line: int
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        if self.regex.fullmatch(path):
            return True
        parts = path.split("/")
        return any(self.regex.fullmatch("/".join(parts[:k])) for k in range(1, len(parts)))


@dataclass(frozen=True, slots=True)
class DockerIgnore:
    rules: tuple[IgnoreRule, ...] = ()

    def ignored(self, path: str) -> bool:
        """`path` is context-relative with slashes (`src/a.go`)."""
        verdict = False
        for rule in self.rules:
            if rule.exception != verdict:  # cannot change the verdict
                continue
            if rule.matches(path):
                verdict = not rule.exception
        return verdict


def parse_dockerignore(text: str, path: str = ".dockerignore") -> DockerIgnore:
    rules: list[IgnoreRule] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        if exception:
            line = line[1:].strip()
            if not line:
                raise DockerfileError('illegal exclusion pattern: "!"', path=path, line=number)
        pattern = clean_path(line)
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern.lstrip("/") or "."
        try:
            regex = compile_pattern(pattern)
        except ValueError as exc:
            raise DockerfileError(f"bad pattern {line!r}: {exc}", path=path,
                                  line=number) from None
        rules.append(IgnoreRule(pattern, exception, number, regex))
    return DockerIgnore(tuple(rules))
