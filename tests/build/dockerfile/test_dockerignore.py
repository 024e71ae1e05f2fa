""".dockerignore: Go filepath.Match patterns, `**`, `!` exceptions, last rule wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_images.build.dockerfile import list_context, parse_dockerignore
from e2e_images.errors import DockerfileError


def ignored(rules: str, path: str) -> bool:
    return parse_dockerignore(rules).ignored(path)


@pytest.mark.parametrize(("rules", "path", "expected"), [
    ("*.md", "README.md", True),
    ("*.md", "docs/README.md", False),  # `*` never crosses a directory
    ("*/*.md", "docs/README.md", True),
    ("**/*.md", "docs/deep/README.md", True),
    ("**/*.md", "README.md", True),  # `**` matches zero directories too
    ("docs/**", "docs/a/b/c", True),
    ("docs/**", "docsx/a", False),
    ("**", "anything/at/all", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/x/y/c", False),
    ("build", "build/out/app", True),  # a matched directory covers its contents
    ("build", "src/build", False),  # patterns are rooted at the context
    ("/build/", "build/x", True),  # leading and trailing slashes are cleaned away
    ("./build/../dist", "dist/x", True),
    ("file?.txt", "file1.txt", True),
    ("file?.txt", "file10.txt", False),
    ("file?.txt", "file/.txt", False),  # `?` never matches /
    ("[abc].go", "b.go", True),
    ("[a-c].go", "d.go", False),
    ("[^a-c].go", "d.go", True),
    ("[^a-c].go", "a.go", False),
    ("[]x].go", "].go", True),  # `]` first in a class is a literal
    (r"\*.go", "*.go", True),
    (r"\*.go", "a.go", False),
    ("a.b", "axb", False),  # regex metacharacters are literal
    ("(x)+", "(x)+", True),
])
def test_pattern_matching(rules, path, expected):
    assert ignored(rules, path) is expected


def test_exceptions_and_order():
    rules = "*.md\n!README.md\n"
    assert ignored(rules, "CHANGES.md")
    assert not ignored(rules, "README.md")
    # The later rule wins: re-excluding after the exception.
    assert ignored("*.md\n!README.md\nREADME*\n", "README.md")
    # An exception inside an excluded directory brings that one file back.
    rules = "vendor\n!vendor/keep.txt\n"
    assert ignored(rules, "vendor/other.txt")
    assert not ignored(rules, "vendor/keep.txt")


def test_comments_blank_lines_and_bom():
    ig = parse_dockerignore("\ufeff# comment\n\n   \n  *.tmp  \n# *.md\n")
    assert [r.pattern for r in ig.rules] == ["*.tmp"]
    assert [r.line for r in ig.rules] == [4]
    assert ignored("\ufeff# comment\n*.tmp\n", "a.tmp")
    assert not ignored("# *.md\n", "a.md")


@pytest.mark.parametrize(("text", "line"), [("ok\n!\n", 2), ("[abc\n", 1), ("a\\\n", 1)])
def test_bad_rules_name_the_line(text, line):
    with pytest.raises(DockerfileError) as info:
        parse_dockerignore(text, "ctx/.dockerignore")
    assert (info.value.path, info.value.line) == ("ctx/.dockerignore", line)


def test_list_context_applies_dockerignore(tmp_path: Path):
    for rel in ("app.go", "README.md", "docs/guide.md", "vendor/a/x.go", "vendor/keep.txt",
                "node_modules/m/index.js", "empty/.gitkeep"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    (tmp_path / "link").symlink_to("app.go")
    (tmp_path / ".dockerignore").write_text(
        "**/*.md\n!README.md\nvendor\n!vendor/keep.txt\nnode_modules\nempty/.gitkeep\n")
    ctx = list_context(tmp_path)
    paths = {e.path: e.kind for e in ctx.listing.entries}
    assert paths == {
        ".dockerignore": "file", "app.go": "file", "README.md": "file", "docs": "dir",
        "vendor": "dir", "vendor/keep.txt": "file", "empty": "dir", "link": "symlink",
    }
    assert ctx.listing.get("link").target == "app.go"
    assert {"docs/guide.md", "node_modules", "vendor/a/x.go"} <= ctx.listing.ignored
    assert "vendor" not in ctx.listing.ignored  # present again through its exception


def test_list_context_without_dockerignore(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.txt").write_bytes(b"12345")
    (tmp_path / "a" / "b.txt").chmod(0o600)
    ctx = list_context(tmp_path)
    entry = ctx.listing.get("a/b.txt")
    assert (entry.kind, entry.size, entry.mode) == ("file", 5, 0o600)
    assert ctx.dockerignore.rules == ()


def test_context_must_be_a_directory(tmp_path: Path):
    with pytest.raises(DockerfileError, match="not a directory"):
        list_context(tmp_path / "missing")
