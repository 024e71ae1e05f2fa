"""The parser layer on its own: lines, directives, flags and forms."""

from __future__ import annotations

import pytest

from e2e_images.build.dockerfile import parse, parse_dockerfile
from e2e_images.errors import DockerfileError


def test_line_spans_and_original_text():
    text = "FROM scratch\n\nRUN a \\\n  # gone\n  b \\\n\n  c\nCMD [\"x\"]\n"
    nodes = parse(text).nodes
    assert [(n.instruction, n.start_line, n.end_line) for n in nodes] == [
        ("from", 1, 1), ("run", 3, 7), ("cmd", 8, 8)]
    assert nodes[1].args == "a   b   c"
    assert nodes[1].original == "RUN a \\\n  b \\\n  c"
    assert nodes[2].json_args == ("x",)


def test_crlf_bom_and_bytes():
    result = parse(b"\xef\xbb\xbf# escape=`\r\nFROM scratch\r\nRUN a `\r\n b\r\n")
    assert result.directives.escape == "`"
    assert [n.args for n in result.nodes] == ["scratch", "a  b"]


def test_directives_only_at_the_top():
    result = parse("# syntax=docker/dockerfile:1.7\n# ESCAPE = `\n# unknown=1\nFROM scratch\n")
    assert (result.directives.syntax, result.directives.escape) == (
        "docker/dockerfile:1.7", "`")
    late = parse("FROM scratch\n# escape=`\nRUN a `\n")
    assert late.directives.escape == "\\"
    assert late.nodes[-1].args == "a `"
    after_comment = parse("# hello\n# escape=`\nFROM scratch\n")
    assert after_comment.directives.escape == "\\"
    with pytest.raises(DockerfileError, match="only one escape") as info:
        parse("# escape=`\n# escape=\\\nFROM scratch\n")
    assert info.value.line == 2


def test_flags_are_split_off_with_quotes():
    node = parse('COPY --from=build --chown="app user" -- --x /y\n').nodes[0]
    assert node.flags == ("--from=build", "--chown=app user")
    assert node.args == "--x /y"


def test_instruction_keywords_are_case_insensitive():
    df = parse_dockerfile("from scratch as Final\nCopy a /a\n")
    assert df.stages[0].name == "final"
    assert df.stage_by_name("FINAL") is df.stages[0]


def test_non_string_json_array_is_an_error():
    with pytest.raises(DockerfileError, match="only strings") as info:
        parse("FROM scratch\nCMD [1, 2]\n")
    assert info.value.line == 2


def test_not_utf8():
    with pytest.raises(DockerfileError, match="UTF-8"):
        parse(b"FROM scratch\nLABEL a=\xff\n", "x/Dockerfile")


@pytest.mark.parametrize("text", ['RUN cat <<< "here string"', "RUN echo 'a << b'",
                                  'RUN ["cat", "<<EOF"]'])
def test_heredoc_like_text_that_is_not_a_heredoc(text):
    """Accepted, kept verbatim, and the next line stays an instruction (no body swallowed)."""
    nodes = parse("FROM scratch\n" + text + "\nCMD x\n").nodes
    assert [(n.instruction, n.start_line) for n in nodes] == [("from", 1), ("run", 2), ("cmd", 3)]
    assert nodes[1].original == text


def test_meta_args_are_kept_apart():
    df = parse_dockerfile("ARG A=1 B\nARG C\nFROM scratch\nARG D\n")
    assert [d.name for a in df.meta_args for d in a.args] == ["A", "B", "C"]
    assert [d.value for d in df.meta_args[0].args] == ["1", None]
    assert len(df.stages[0].commands) == 1


def test_words_follow_the_escape_character():
    text = 'FROM scratch\nENV A="C:\\dir\\" B=y\n'
    backtick = parse_dockerfile("# escape=`\n" + text).stages[0].commands[0]
    assert [(p.key, p.value) for p in backtick.pairs] == [("A", '"C:\\dir\\"'), ("B", "y")]
    # With the default escape, \" does not close the quote: one word, no B.
    backslash = parse_dockerfile(text).stages[0].commands[0]
    assert [p.key for p in backslash.pairs] == ["A"]


def test_run_flags_and_mounts():
    df = parse_dockerfile('FROM scratch\nRUN --mount=type=cache,target="/a b",sharing=locked '
                          "--mount=from=build,source=/x,target=/y --network=host echo\n")
    run = df.stages[0].commands[0]
    assert [m.type for m in run.mounts] == ["cache", "bind"]
    assert run.mounts[0].get("target") == "/a b"
    assert run.mounts[1].from_ == "build"
    assert (run.network, run.command, run.shell_form) == ("host", ("echo",), True)
    with pytest.raises(DockerfileError, match="--network=vpn"):
        parse_dockerfile("FROM scratch\nRUN --network=vpn true\n")
    with pytest.raises(DockerfileError, match="unknown mount type"):
        parse_dockerfile("FROM scratch\nRUN --mount=type=nfs true\n")
    with pytest.raises(DockerfileError, match="unknown flag --mount"):
        parse_dockerfile("FROM scratch\nCOPY --mount=type=bind a /a\n")
