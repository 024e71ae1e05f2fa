"""Host services checked before a run (issue 12): binfmt read from a directory tests can
point elsewhere (the host's handlers are never touched here), and the Docker engine."""

from __future__ import annotations

import pytest

from e2e_images.host import (
    BINFMT_DIR_ENV,
    HostServiceError,
    ensure_binfmt,
    missing_binfmt,
    require_docker,
)


@pytest.fixture
def binfmt(tmp_path, monkeypatch):
    monkeypatch.setenv(BINFMT_DIR_ENV, str(tmp_path))
    (tmp_path / "qemu-aarch64").write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/"
                                           "aarch64-binfmt-P\nflags: POCF\n")
    (tmp_path / "qemu-s390x").write_text("disabled\ninterpreter /usr/libexec/qemu-binfmt/"
                                         "s390x-binfmt-P\n")
    return tmp_path


def test_enabled_handlers_pass_and_disabled_or_absent_ones_are_missing(binfmt):
    assert missing_binfmt(["aarch64", "s390x", "ppc64le", "aarch64"]) == ["ppc64le", "s390x"]
    ensure_binfmt(["aarch64"])


@pytest.mark.parametrize("root", [False, True])
def test_missing_handler_is_one_line_naming_the_arch_and_the_fix(binfmt, root):
    """As root on a directory other than /proc's, nothing is registered: the error says
    which package provides the handler; otherwise, the command that registers it."""
    with pytest.raises(HostServiceError) as info:
        ensure_binfmt(["aarch64", "s390x"], is_root=root)
    line = str(info.value)
    assert "\n" not in line and "qemu-s390x" in line and "qemu-aarch64" not in line
    assert ("qemu-user-static" if root else "sudo hack/services.sh up") in line
    assert (binfmt / "qemu-s390x").read_text().startswith("disabled")


def test_no_docker_engine_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(HostServiceError) as info:
        require_docker(timeout=5)
    assert "\n" not in str(info.value) and "hack/services.sh up" in str(info.value)
