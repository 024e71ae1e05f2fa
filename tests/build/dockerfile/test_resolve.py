"""Resolution details the golden files do not show directly."""

from __future__ import annotations

import pytest

from e2e_images.build.dockerfile import (
    DEFAULT_LINUX_PATH,
    BaseImageConfig,
    Copy,
    Env,
    Run,
    Workdir,
    build_args_for,
    parse_dockerfile,
    resolve,
)
from e2e_images.errors import DockerfileError
from e2e_images.platforms import Platform, parse_platform

AMD64 = Platform("linux", "amd64")


def run(text: str, **kwargs):
    kwargs.setdefault("build_args", {})
    kwargs.setdefault("target", AMD64)
    kwargs.setdefault("build", AMD64)
    return resolve(parse_dockerfile(text), **kwargs)


def test_build_args_mirror_target_args():
    assert build_args_for(parse_platform("linux/arm64")) == {
        "BUILDPLATFORM": "linux/arm64", "BUILDOS": "linux", "BUILDARCH": "arm64",
        "BUILDVARIANT": ""}


def test_base_config_seeds_env_workdir_user_and_shell():
    seen = []

    def config(ref: str, platform: Platform) -> BaseImageConfig:
        seen.append((ref, platform))
        return BaseImageConfig(env=(("GOPATH", "/go"),), workdir="/go", user="nobody",
                               shell=("/bin/bash", "-c"))

    resolved = run("FROM golang\nENV PATH=$GOPATH/bin:$PATH\nWORKDIR src\nRUN make\n",
                   base_config=config)
    assert seen == [("golang", AMD64)]
    stage = resolved.final
    env = dict(stage.env)
    # The base has no PATH, so (as BuildKit does for Linux) the default one is added first.
    assert env["PATH"] == f"/go/bin:{DEFAULT_LINUX_PATH}"
    run_step = stage.steps[-1]
    assert isinstance(run_step.instruction, Run)
    assert (run_step.workdir, run_step.user, run_step.shell) == ("/go/src", "nobody",
                                                                  ("/bin/bash", "-c"))
    assert ("GOPATH", "/go") in run_step.env


def test_without_base_config_an_image_starts_empty():
    stage = run("FROM alpine\nENV PATH=/x:$PATH\n").final
    assert dict(stage.env) == {"PATH": "/x:"}


def test_windows_stages_get_no_default_path():
    stage = run("FROM scratch\nENV A=1\n", target=parse_platform("windows/amd64/ltsc2022")).final
    assert dict(stage.env) == {"A": "1"}
    assert stage.shell == ("cmd", "/S", "/C")


def test_stage_inherits_from_its_base_stage():
    resolved = run("FROM scratch AS a\nENV X=1\nWORKDIR /w\nUSER u\n"
                   "FROM a\nENV Y=$X\nCOPY f g\n")
    stage = resolved.final
    assert dict(stage.env)["Y"] == "1"
    copy = stage.steps[-1]
    assert isinstance(copy.instruction, Copy) and copy.workdir == "/w"
    assert stage.user == "u"


def test_named_target_and_unknown_target():
    text = "FROM scratch AS One\nFROM one AS two\nFROM scratch\n"
    resolved = run(text, stage="TWO")
    assert (resolved.target, resolved.needed) == (1, (0, 1))
    assert resolved.final.name == "two"
    with pytest.raises(DockerfileError, match="'three' could not be found") as info:
        run(text, stage="three")
    assert "one, two" in info.value.hint


def test_only_needed_stages_are_expanded():
    # The broken stage is never built, as BuildKit would not dispatch it either.
    resolved = run("FROM scratch AS broken\nENV A=${B:=x}\nFROM scratch\nENV C=1\n")
    assert resolved.needed == (1,)
    assert resolved.stages[0].steps == ()
    with pytest.raises(DockerfileError) as info:
        run("FROM scratch AS broken\nENV A=${B:=x}\nFROM scratch\nCOPY --from=broken / /\n")
    assert info.value.line == 2


def test_platform_spelled_like_the_target_is_the_target():
    arm = Platform("linux", "arm")
    resolved = run("FROM --platform=$TARGETPLATFORM scratch\n", target=arm)
    assert resolved.final.platform is arm
    cache_target = parse_platform("linux/amd64/1809")
    resolved = run("FROM --platform=windows/amd64 scratch AS core\nFROM scratch\n",
                   target=cache_target)
    assert resolved.stages[0].platform == parse_platform("windows/amd64/1809")
    assert resolved.final.platform is cache_target


def test_platform_flag_on_a_stage_based_stage_is_ignored_with_a_warning():
    resolved = run("FROM --platform=linux/arm64 scratch AS a\n"
                   "FROM --platform=linux/s390x a\n")
    assert resolved.final.platform == Platform("linux", "arm64")
    assert [w.line for w in resolved.warnings] == [2]


def test_env_and_workdir_steps_are_expanded_copies():
    resolved = run("FROM scratch\nENV D=/data\nWORKDIR $D/../srv\n")
    env, workdir = (s.instruction for s in resolved.final.steps)
    assert isinstance(env, Env) and isinstance(workdir, Workdir)
    assert workdir.path == "/srv"
    assert workdir.loc.line == 3


def test_unused_build_args_ignore_proxies():
    resolved = run("FROM scratch\n", build_args={"https_proxy": "x", "NO_PROXY": "y",
                                                  "OTHER": "z"})
    assert resolved.unused_build_args == ("OTHER",)
