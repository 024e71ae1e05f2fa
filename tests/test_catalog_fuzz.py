"""Random bytes in every catalog file, and random text to the Dockerfile parser.

Seeded random inputs (reproducible): fully random bytes, latin-1 text, printable ASCII with
newlines and `=`/`/`/`:`, and each with a UTF-8 BOM. `plan` must accept the input or exit 2 with
one line naming the file; the parser must return or raise DockerfileError. Never a traceback.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from e2e_images.build.dockerfile import parse_dockerfile
from e2e_images.cli import main
from e2e_images.errors import DockerfileError

FILES = {
    "VERSION": "1.0\n",
    "BASEIMAGE": "linux/amd64=busybox:1.36\nlinux/arm64=busybox:1.36\n",
    "ALIAS": "fuzzed\n",
    "OWNERS": "approvers:\n- someone\n",
    "Makefile": "SRCS = hello\nLD_FLAGS = -X main.v=$(VERSION)\n",
    "Dockerfile": "ARG BASEIMAGE\nFROM $BASEIMAGE\nCOPY . /\n",
}
ROUNDS = 60
ALPHABET = "abcAZ019 =/:.-_@#\t\n\\$\"'{}[]()\x00\x7f\u00e9\u2028"


def _samples(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for i in range(ROUNDS):
        n = rng.randrange(0, 200)
        match i % 4:
            case 0:
                data = rng.randbytes(n)
            case 1:
                data = "".join(chr(rng.randrange(256)) for _ in range(n)).encode("latin-1")
            case 2:
                data = "".join(rng.choice(ALPHABET) for _ in range(n)).encode()
            case _:
                data = b"\xef\xbb\xbf" + "".join(rng.choice(ALPHABET[:20])
                                                 for _ in range(n)).encode()
        out.append(data)
    return out


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    image = tmp_path / "images" / "fuzzed"
    image.mkdir(parents=True)
    for name, text in FILES.items():
        (image / name).write_text(text)
    return tmp_path / "images"


@pytest.mark.parametrize("name", sorted(FILES))
def test_random_bytes_in_a_catalog_file(tree, capsys, name):
    path = tree / "fuzzed" / name
    assert main(["plan", "--images-dir", str(tree)]) == 0  # the untouched tree plans
    capsys.readouterr()
    failures = 0
    for data in _samples(sum(name.encode())):
        path.write_bytes(data)
        code = main(["plan", "--images-dir", str(tree), "--json"])
        err = capsys.readouterr().err
        assert code in (0, 2), (data, err)
        if code == 2:
            failures += 1
            assert len(err.strip().splitlines()) == 1, (data, err)
            assert "Traceback" not in err
            assert str(tree / "fuzzed") in err, (data, err)  # it names the file (or its dir)
    assert failures > 0  # random bytes are mostly not a valid file of this kind


@pytest.mark.parametrize(("data", "message"), [
    (b"linux/amd64=busybox:1\n\xe9t\xe9\n", "BASEIMAGE:2: not UTF-8 text (byte 0xe9)"),
    (b"\xef\xbb\xbf1.0\n", None),  # a BOM is allowed
    (b"1.0 beta\n", "VERSION:1: VERSION '1.0 beta' is not a valid tag"),
    (b"1.0:x@y\n", "is not a valid tag"),
    (b"1.\x000\n", "VERSION:1: NUL byte"),
])
def test_strict_decoding_and_version_grammar(tree, capsys, data, message):
    name = "BASEIMAGE" if data.startswith(b"linux") else "VERSION"
    (tree / "fuzzed" / name).write_bytes(data)
    code = main(["plan", "--images-dir", str(tree)])
    err = capsys.readouterr().err
    if message is None:
        assert code == 0, err
    else:
        assert code == 2 and message in err, err


@pytest.mark.parametrize("alias", ["MyImage", "../../evil", "a//b", "-x", "x" * 256])
def test_alias_must_be_a_repository_name(tree, capsys, alias):
    (tree / "fuzzed" / "ALIAS").write_text(f"# comment-free\n{alias}\n".split("\n", 1)[1])
    assert main(["plan", "--images-dir", str(tree)]) == 2
    assert "ALIAS:1: ALIAS" in capsys.readouterr().err


def test_an_image_that_depends_on_itself_is_a_cycle(tree, capsys):
    (tree / "fuzzed" / "BASEIMAGE").write_text("linux/amd64=REGISTRY/fuzzed:1.0-linux-amd64\n")
    assert main(["plan", "--images-dir", str(tree)]) == 2
    err = capsys.readouterr().err
    assert "BASEIMAGE:1: dependency cycle: fuzzed builds on itself" in err, err


@pytest.mark.parametrize("seed", range(4))
def test_random_text_to_the_dockerfile_parser(seed):
    for data in _samples(1000 + seed):
        text = data.decode("utf-8", errors="surrogateescape")
        try:
            parse_dockerfile(text, "Dockerfile")
        except DockerfileError as exc:
            assert exc.path == "Dockerfile"
