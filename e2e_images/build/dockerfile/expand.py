"""Variable expansion in Dockerfile words, with Docker's (not bash's) rules.

Docker runs its own small lexer over ENV/COPY/WORKDIR/... values: quotes are removed, the
escape character (backslash or backtick) escapes one character outside quotes but only
`"`, `$` and itself inside double quotes, and `$VAR`, `${VAR}`, `${VAR:-w}`, `${VAR:+w}`,
`${VAR-w}`, `${VAR+w}`, `${VAR?msg}`, `${VAR#p}`, `${VAR%p}` are substituted. An unset
variable expands to the empty string. RUN/CMD/ENTRYPOINT never come here: their text goes
to the shell untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["ExpansionError", "expand_word"]

_SPECIAL = frozenset("@*#?-$!0")


class ExpansionError(ValueError):
    """A word that cannot be expanded; the caller adds file and line."""


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    def word(self, stop: str = "", raw_escapes: bool = False) -> str:
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                if stop:
                    raise ExpansionError(f"unexpected end of text looking for {stop!r}")
                return "".join(out)
            if stop and ch == stop:
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
            elif ch == "'":
                out.append(self.single_quoted())
            elif ch == '"':
                out.append(self.double_quoted())
            else:
                self.next()
                if ch == self.escape:
                    if raw_escapes:
                        out.append(ch)
                    ch = self.next()  # escapes the next character; nothing at the end
                out.append(ch)

    def single_quoted(self) -> str:
        self.next()
        end = self.text.find("'", self.pos)
        if end < 0:
            raise ExpansionError("unexpected end of text looking for a closing single quote")
        value = self.text[self.pos:end]
        self.pos = end + 1
        return value

    def double_quoted(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise ExpansionError("unexpected end of text looking for a closing double quote")
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            self.next()
            if ch == self.escape:
                following = self.peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        ch = self.peek()
        if ch.isdigit():
            start = self.pos
            while self.peek().isdigit():
                self.next()
            return self.text[start:self.pos]
        if ch and ch in _SPECIAL:
            return self.next()
        start = self.pos
        while (c := self.peek()) and (c.isalnum() or c == "_"):
            self.next()
        return self.text[start:self.pos]

    def lookup(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        return "", False

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            return self.lookup(name)[0] if name else "$"
        self.next()
        if not self.peek():
            raise ExpansionError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise ExpansionError("syntax error: bad substitution")
        name = self.name()
        op = self.next()
        if not op:
            raise ExpansionError("syntax error: missing '}'")
        if op == "}":
            return self.lookup(name)[0]
        null_is_unset = op == ":"
        if null_is_unset:
            op = self.next()
        if op not in ("-", "+", "?", "#", "%") or (null_is_unset and op in "#%"):
            shown = (":" if null_is_unset else "") + op
            raise ExpansionError(f"unsupported modifier ({shown}) in substitution ${{{name}...}}")
        try:
            word = self.word("}", raw_escapes=op in "#%")
        except ExpansionError:
            raise ExpansionError("syntax error: missing '}'") from None
        value, is_set = self.lookup(name)
        empty = not is_set or (null_is_unset and value == "")
        if op == "-":
            return word if empty else value
        if op == "+":
            return "" if empty else word
        if op == "?":
            if empty:
                what = "unset" if not is_set else "empty"
                raise ExpansionError(f"{name}: {word or f'is not allowed to be {what}'}")
            return value
        greedy = word.startswith(op)
        pattern = _pattern(word[1:] if greedy else word)
        return _trim(value, pattern, prefix=op == "#", longest=greedy)


def _pattern(text: str) -> re.Pattern[str]:
    """A shell pattern (`*`, `?`, backslash escapes; no brackets) as a regex."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            following = text[i + 1:i + 2]
            if following in ("}", "/"):
                pass
            elif following in ("*", "?", "\\"):
                out.append(re.escape(following))
                i += 1
            else:
                raise ExpansionError(f"invalid escape '\\{following}' in pattern {text!r}")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _trim(value: str, pattern: re.Pattern[str], *, prefix: bool, longest: bool) -> str:
    cuts = range(len(value), -1, -1) if longest == prefix else range(len(value) + 1)
    for cut in cuts:
        if prefix and pattern.fullmatch(value[:cut]):
            return value[cut:]
        if not prefix and pattern.fullmatch(value[cut:]):
            return value[:cut]
    return value


def expand_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Expand one Dockerfile word; quotes and escapes are consumed."""
    return _Lexer(word, env, escape).word()
