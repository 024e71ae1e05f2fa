"""Dockerfile text -> nodes with line spans, as BuildKit's parser stage does.

Knows lines, directives, continuations, comments, flags and the JSON/shell split, and nothing
about what an instruction means: `instructions` turns nodes into typed commands. Everything
we cannot build faithfully (heredocs, ONBUILD, unknown instructions) is refused here, naming
the line, instead of being half-understood.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from e2e_images.errors import DockerfileError

__all__ = [
    "INSTRUCTIONS",
    "Directives",
    "Node",
    "ParseResult",
    "ParseWarning",
    "parse",
    "parse_json_array",
    "split_words",
]

INSTRUCTIONS = frozenset({
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck",
    "label", "maintainer", "run", "shell", "stopsignal", "user", "volume", "workdir",
})
_REFUSED = {
    "onbuild": "ONBUILD is not supported: its triggers run in some later, unknown build",
}
_HEREDOC_INSTRUCTIONS = frozenset({"run", "copy", "add"})
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_HEREDOC_NAME = re.compile(r"""^\d*<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\1$""")


@dataclass(frozen=True, slots=True)
class Directives:
    escape: str = "\\"
    syntax: str | None = None
    check: str | None = None


@dataclass(frozen=True, slots=True)
class ParseWarning:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class Node:
    """One logical instruction: continuation lines joined, flags split off.

    `args` is the text after the flags; `json_args` is set when it is a JSON array of
    strings (exec form), which only some instructions honour.
    """

    instruction: str  # lower case
    flags: tuple[str, ...]
    args: str
    json_args: tuple[str, ...] | None
    original: str
    start_line: int
    end_line: int
    escape: str = "\\"


@dataclass(frozen=True, slots=True)
class ParseResult:
    path: str
    nodes: tuple[Node, ...]
    directives: Directives
    warnings: tuple[ParseWarning, ...]


def _error(message: str, path: str, line: int | None, hint: str | None = None) -> DockerfileError:
    return DockerfileError(message, path=path, line=line, hint=hint)


def _decode(data: str | bytes, path: str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _error(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path, None) \
                from None
    return data.removeprefix("\ufeff")


def _directives(lines: list[str], path: str) -> tuple[Directives, int]:
    """Directives sit at the very top; the first line that is not one ends them."""
    found: dict[str, tuple[str, int]] = {}
    consumed = 0
    for number, line in enumerate(lines, 1):
        m = _DIRECTIVE.match(line)
        if not m:
            break
        key = m.group(1).lower()
        if key in _KNOWN_DIRECTIVES:
            if key in found:
                raise _error(f"only one {key} parser directive can be used", path, number)
            found[key] = (m.group(2), number)
        consumed = number
    escape, line = found.get("escape", ("\\", None))
    if escape not in ("\\", "`"):
        raise _error(f"invalid escape token {escape!r}: it must be ` or \\", path, line)
    values = {k: v for k, (v, _) in found.items()}
    return Directives(escape=escape, syntax=values.get("syntax"),
                      check=values.get("check")), consumed


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _strip_continuation(line: str, escape: str) -> tuple[str, bool]:
    """Remove a trailing escape (plus blanks after it); True when the line continues."""
    trimmed = line.rstrip(" \t")
    if trimmed.endswith(escape):
        return trimmed[:-1], True
    return line, False


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Whitespace split that keeps quoted runs together; quotes and escapes stay in the words
    (expansion removes them later). The escape character escapes inside double quotes and
    outside quotes, never inside single quotes; a trailing escape is dropped."""
    words: list[str] = []
    word = ""
    quote = ""
    in_word = False
    i = 0
    while i < len(text):
        ch = text[i]
        if not quote and ch.isspace():
            if in_word:
                words.append(word)
                word, in_word = "", False
            i += 1
            continue
        in_word = True
        if ch == escape and quote != "'":
            if i + 1 == len(text):
                break
            word += ch + text[i + 1]
            i += 2
            continue
        if quote and ch == quote:
            quote = ""
        elif not quote and ch in "\"'":
            quote = ch
        word += ch
        i += 1
    if in_word:
        words.append(word)
    return words


def _extract_flags(rest: str) -> tuple[list[str], str]:
    """Leading `--name[=value]` words (quotes removed, backslash escapes) and the remainder."""
    flags: list[str] = []
    pos = 0
    n = len(rest)
    while True:
        while pos < n and rest[pos].isspace():
            pos += 1
        if not rest.startswith("--", pos):
            return flags, rest[pos:]
        word = ""
        quote = ""
        quoted = False
        while pos < n:
            ch = rest[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\" and pos + 1 < n:
                    pos += 1
                    word += rest[pos]
                else:
                    word += ch
            elif ch.isspace():
                break
            elif ch in "\"'":
                quote, quoted = ch, True
            elif ch == "\\":
                if pos + 1 < n:
                    pos += 1
                    word += rest[pos]
            else:
                word += ch
            pos += 1
        if word == "--":
            return flags, rest[pos:].lstrip()
        if word or quoted:
            flags.append(word)
        if pos >= n:
            return flags, ""


def parse_json_array(text: str) -> tuple[str, ...] | None:
    """A JSON array of strings -> tuple; anything else (not JSON) -> None.

    Like Docker, text after the closing bracket is ignored; a JSON array holding something
    other than strings is an error rather than shell form.
    """
    text = text.lstrip()
    if not text.startswith("["):
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise ValueError("JSON arrays must hold only strings")
    return tuple(value)


def _heredoc_word(node_args: str, escape: str) -> str | None:
    for word in split_words(node_args, escape):
        if _HEREDOC_NAME.match(word):
            return word
    return None


def _make_node(line: str, original: str, start: int, end: int, path: str,
               escape: str) -> Node:
    parts = line.strip().split(None, 1)
    keyword = parts[0]
    instruction = keyword.lower()
    rest = parts[1] if len(parts) == 2 else ""
    if instruction in _REFUSED:
        raise _error(_REFUSED[instruction], path, start)
    if instruction not in INSTRUCTIONS:
        raise _error(f"unknown instruction: {keyword}", path, start,
                     hint="instructions are " + ", ".join(sorted(i.upper() for i in INSTRUCTIONS)))
    flags, args = _extract_flags(rest)
    args = args.strip()
    try:
        json_args = parse_json_array(args)
    except ValueError as exc:
        raise _error(f"{keyword.upper()}: {exc}", path, start) from None
    if instruction in _HEREDOC_INSTRUCTIONS and json_args is None:
        word = _heredoc_word(args, escape)
        if word:
            raise _error(f"heredocs ({word}) are not supported", path, start,
                         hint="put the text in a file in the build context and COPY it")
    return Node(instruction, tuple(flags), args, json_args, original, start, end, escape)


def parse(data: str | bytes, path: str = "Dockerfile") -> ParseResult:
    text = _decode(data, path)
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    directives, index = _directives(lines, path)
    escape = directives.escape
    nodes: list[Node] = []
    warnings: list[ParseWarning] = []
    while index < len(lines):
        raw = lines[index]
        index += 1
        start = index
        if not raw.strip() or _is_comment(raw):
            continue
        logical, more = _strip_continuation(raw.lstrip(), escape)
        originals = [raw]
        empty_continuation = False
        while more and index < len(lines):
            raw = lines[index]
            index += 1
            if _is_comment(raw):
                continue
            if not raw.strip():
                empty_continuation = True
                continue
            originals.append(raw)
            piece, more = _strip_continuation(raw, escape)
            logical += piece
        if empty_continuation:
            warnings.append(ParseWarning(start, "empty continuation line (a future Docker "
                                                "release may treat it as the end)"))
        if not logical.strip():
            continue
        nodes.append(_make_node(logical, "\n".join(originals), start, index, path, escape))
    return ParseResult(path, tuple(nodes), directives, tuple(warnings))
