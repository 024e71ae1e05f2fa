"""Docker's word expansion: quotes, escapes and ${} forms, compared with what Docker does."""

from __future__ import annotations

import pytest

from e2e_images.build.dockerfile import ExpansionError, expand_word

ENV = {"A": "alpha", "EMPTY": "", "PATH": "/usr/local/bin:/usr/bin", "FILE": "dir/sub/file.tar.gz"}


@pytest.mark.parametrize(("word", "expected"), [
    ("$A", "alpha"),
    ("${A}", "alpha"),
    ("$A-x", "alpha-x"),
    ("${A}x", "alphax"),
    ("$Ax", ""),  # the name runs on: $Ax is unset
    ("$UNSET", ""),
    ("$", "$"),
    ("a$", "a$"),
    ("$/", "$/"),
    ("$1", ""),
    ("${A:-d}", "alpha"), ("${UNSET:-d}", "d"), ("${EMPTY:-d}", "d"),
    ("${A-d}", "alpha"), ("${UNSET-d}", "d"), ("${EMPTY-d}", ""),
    ("${A:+r}", "r"), ("${UNSET:+r}", ""), ("${EMPTY:+r}", ""),
    ("${A+r}", "r"), ("${UNSET+r}", ""), ("${EMPTY+r}", "r"),
    ("${UNSET:-$A}", "alpha"),  # the word is expanded too
    ("${UNSET:-'$A'}", "$A"),
    ("${UNSET:-a b}", "a b"),
    ("${A?}", "alpha"),
    ("${FILE#*/}", "sub/file.tar.gz"), ("${FILE##*/}", "file.tar.gz"),
    ("${FILE%.*}", "dir/sub/file.tar"), ("${FILE%%.*}", "dir/sub/file"),
    ("${FILE#nomatch}", "dir/sub/file.tar.gz"),
    ("'$A'", "$A"),
    ('"$A"', "alpha"),
    ('"a  b"', "a  b"),
    ("'it''s'", "its"),
    ('one"two"\'three\'', "onetwothree"),
    (r"\$A", "$A"),
    (r"a\ b", "a b"),
    ("a\\", "a"),  # an escape at the end escapes nothing
    (r'"\$A \"q\" \\ \n"', r'$A "q" \ \n'),  # inside "", only " $ and \ are escapable
    (r"C:\Windows", "C:Windows"),  # outside quotes the backslash escapes W
    (r'"C:\Windows"', r"C:\Windows"),
])
def test_expand(word, expected):
    assert expand_word(word, ENV) == expected


def test_backtick_escape():
    assert expand_word(r"C:\Windows\$A", ENV, "`") == r"C:\Windows\alpha"
    assert expand_word("`$A", ENV, "`") == "$A"
    assert expand_word('"a`"b"', ENV, "`") == 'a"b'


@pytest.mark.parametrize(("word", "message"), [
    ("${A", "missing '}'"),
    ("${}", "bad substitution"),
    ("${:-x}", "bad substitution"),
    ("${A:=x}", "unsupported modifier"),
    ("${A/x/y}", "unsupported modifier"),
    ("${UNSET?must be set}", "UNSET: must be set"),
    ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
    ("${UNSET?}", "UNSET: is not allowed to be unset"),
    ("'open", "single quote"),
    ('"open', "double quote"),
])
def test_expansion_errors(word, message):
    with pytest.raises(ExpansionError, match=message):
        expand_word(word, ENV)
