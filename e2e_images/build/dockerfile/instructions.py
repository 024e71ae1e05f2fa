"""Parser nodes -> typed instructions grouped into stages (BuildKit's instructions.Parse).

Flags are checked per instruction, the JSON/shell form is decided, key=value lists are split.
ARGs before the first FROM are kept apart as `meta_args`: only FROM lines see them without a
re-declaration. Types live in `commands`; they are re-exported here.
"""

from __future__ import annotations

import re

from e2e_images.build.dockerfile.commands import (
    Add,
    Arg,
    ArgDecl,
    Cmd,
    Copy,
    Dockerfile,
    Entrypoint,
    Env,
    Expose,
    Healthcheck,
    Instruction,
    KeyValue,
    Label,
    Location,
    Maintainer,
    Mount,
    Run,
    Shell,
    Stage,
    StopSignal,
    User,
    Volume,
    Workdir,
)
from e2e_images.build.dockerfile.parser import Node, parse, parse_json_array, split_words
from e2e_images.errors import DockerfileError

__all__ = [
    "Add", "Arg", "ArgDecl", "Cmd", "Copy", "Dockerfile", "Entrypoint", "Env", "Expose",
    "Healthcheck", "Instruction", "KeyValue", "Label", "Location", "Maintainer", "Mount", "Run",
    "Shell", "Stage", "StopSignal", "User", "Volume", "Workdir", "parse_dockerfile",
    "to_instruction",
]

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")
_DURATION = re.compile(r"^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
            "m": 60_000_000_000, "h": 3_600_000_000_000}


# --- flags -------------------------------------------------------------------------------

_STR, _BOOL, _LIST = "str", "bool", "list"
_FLAGS: dict[str, dict[str, str]] = {
    "from": {"platform": _STR},
    "copy": {"from": _STR, "chown": _STR, "chmod": _STR, "link": _BOOL},
    "add": {"chown": _STR, "chmod": _STR, "checksum": _STR, "link": _BOOL,
            "keep-git-dir": _BOOL},
    "run": {"mount": _LIST, "network": _STR, "security": _STR},
    "healthcheck": {"interval": _STR, "timeout": _STR, "start-period": _STR,
                    "start-interval": _STR, "retries": _STR},
}


def _err(node: Node, path: str, message: str, hint: str | None = None) -> DockerfileError:
    return DockerfileError(message, path=path, line=node.start_line, hint=hint)


def _flags(node: Node, path: str) -> dict[str, str | bool | list[str]]:
    allowed = _FLAGS.get(node.instruction, {})
    out: dict[str, str | bool | list[str]] = {}
    keyword = node.instruction.upper()
    for word in node.flags:
        name, eq, value = word[2:].partition("=")
        kind = allowed.get(name)
        if kind is None:
            raise _err(node, path, f"{keyword}: unknown flag --{name}",
                       hint="known: " + (", ".join(f"--{f}" for f in allowed) or "none"))
        if kind == _LIST:
            if not eq or not value:
                raise _err(node, path, f"{keyword}: --{name} needs a value")
            listed = out.setdefault(name, [])
            assert isinstance(listed, list)
            listed.append(value)
            continue
        if name in out:
            raise _err(node, path, f"{keyword}: duplicate flag --{name}")
        if kind == _BOOL:
            if eq and value.lower() not in ("true", "false"):
                raise _err(node, path, f"{keyword}: --{name} takes true or false, not {value!r}")
            out[name] = not eq or value.lower() == "true"
        else:
            if not eq:
                raise _err(node, path, f"{keyword}: --{name} needs a value (--{name}=...)")
            out[name] = value
    return out


def _parse_duration(node: Node, path: str, flag: str, text: str) -> int:
    if text in ("0", ""):
        return 0
    if not _DURATION.match(text):
        raise _err(node, path, f"HEALTHCHECK: --{flag}={text!r} is not a duration (30s, 1m30s)")
    total = sum(float(n) * _UNIT_NS[u] for n, u in _DURATION_PART.findall(text))
    if 0 < total < 1_000_000:
        raise _err(node, path, f"HEALTHCHECK: --{flag} cannot be less than 1ms")
    return int(total)


def _parse_mount(node: Node, path: str, text: str) -> Mount:
    options: list[KeyValue] = []
    mount_type = "bind"
    for field in (f.strip() for f in text.split(",")):
        if not field:
            continue
        key, eq, value = field.partition("=")
        key = key.strip().lower()
        if key == "type":
            mount_type = value.strip().lower()
            continue
        options.append(KeyValue(key, value if eq else "true"))
    if mount_type not in ("bind", "cache", "tmpfs", "secret", "ssh"):
        raise _err(node, path, f"RUN: unknown mount type {mount_type!r}")
    return Mount(mount_type, tuple(options))


# --- per instruction ---------------------------------------------------------------------


def _key_values(node: Node, path: str) -> tuple[KeyValue, ...]:
    keyword = node.instruction.upper()
    words = split_words(node.args, node.escape)
    if not words:
        raise _err(node, path, f"{keyword} requires at least one argument")
    if "=" not in words[0]:  # legacy `ENV key value with spaces`
        parts = node.args.split(None, 1)
        if len(parts) < 2:
            raise _err(node, path, f"{keyword} must have two arguments (or key=value pairs)")
        return (KeyValue(parts[0], parts[1].strip()),)
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            raise _err(node, path, f"{keyword}: can't find = in {word!r}; use name=value")
        if not key:
            raise _err(node, path, f"{keyword}: a name can not be blank ({word!r})")
        pairs.append(KeyValue(key, value))
    return tuple(pairs)


def _list_args(node: Node) -> tuple[str, ...]:
    return node.json_args if node.json_args is not None else tuple(node.args.split())


def _command(node: Node, path: str) -> tuple[tuple[str, ...], bool]:
    if node.json_args is not None:
        return node.json_args, False
    if not node.args and node.instruction == "run":
        raise _err(node, path, "RUN requires at least one argument")
    return (node.args,), True


def _single(node: Node, path: str) -> str:
    if not node.args:
        raise _err(node, path, f"{node.instruction.upper()} requires exactly one argument")
    return node.args


def _healthcheck(node: Node, loc: Location, flags: dict, path: str) -> Healthcheck:
    parts = node.args.split(None, 1)
    kind = parts[0].upper() if parts else ""
    if kind == "NONE":
        if len(parts) > 1 or flags:
            raise _err(node, path, "HEALTHCHECK NONE takes no arguments or flags")
        return Healthcheck(loc, none=True)
    if kind != "CMD" or len(parts) < 2:
        raise _err(node, path, "HEALTHCHECK needs NONE or CMD <command>")
    rest = parts[1]
    exec_form = parse_json_array(rest)
    command, shell_form = (exec_form, False) if exec_form is not None else ((rest,), True)
    durations = {k: _parse_duration(node, path, k, str(flags[k]))
                 for k in ("interval", "timeout", "start-period", "start-interval") if k in flags}
    retries = None
    if "retries" in flags:
        try:
            retries = int(str(flags["retries"]))
        except ValueError:
            raise _err(node, path, "HEALTHCHECK: --retries takes a number") from None
        if retries < 0:
            raise _err(node, path, "HEALTHCHECK: --retries cannot be negative")
    return Healthcheck(loc, none=False, command=command, shell_form=shell_form,
                       interval=durations.get("interval"), timeout=durations.get("timeout"),
                       start_period=durations.get("start-period"),
                       start_interval=durations.get("start-interval"), retries=retries)


def _opt(flags: dict, key: str) -> str | None:
    value = flags.get(key)
    return value if isinstance(value, str) else None


def to_instruction(node: Node, path: str) -> Instruction:
    loc = Location(path, node.start_line, node.end_line, node.original)
    flags = _flags(node, path)
    keyword = node.instruction
    if keyword == "arg":
        words = split_words(node.args, node.escape)
        if not words:
            raise _err(node, path, "ARG requires at least one argument")
        decls = []
        for word in words:
            name, eq, value = word.partition("=")
            if not name:
                raise _err(node, path, f"ARG: a name can not be blank ({word!r})")
            decls.append(ArgDecl(name, value if eq else None))
        return Arg(loc, tuple(decls))
    if keyword == "env":
        return Env(loc, _key_values(node, path))
    if keyword == "label":
        return Label(loc, _key_values(node, path))
    if keyword in ("copy", "add"):
        args = _list_args(node)
        if len(args) < 2:
            raise _err(node, path, f"{keyword.upper()} requires at least two arguments "
                                   "(sources and a destination)")
        common = {"sources": args[:-1], "dest": args[-1], "chown": _opt(flags, "chown"),
                  "chmod": _opt(flags, "chmod"), "link": bool(flags.get("link", False))}
        if keyword == "copy":
            return Copy(loc, from_=_opt(flags, "from"), **common)
        return Add(loc, checksum=_opt(flags, "checksum"),
                   keep_git_dir=bool(flags.get("keep-git-dir", False)), **common)
    if keyword == "run":
        command, shell_form = _command(node, path)
        network, security = _opt(flags, "network"), _opt(flags, "security")
        if network not in (None, "default", "none", "host"):
            raise _err(node, path, f"RUN: --network={network} is not default, none or host")
        if security not in (None, "sandbox", "insecure"):
            raise _err(node, path, f"RUN: --security={security} is not sandbox or insecure")
        mounts = tuple(_parse_mount(node, path, m) for m in flags.get("mount", []))
        return Run(loc, command, shell_form, mounts, network, security)
    if keyword in ("cmd", "entrypoint"):
        command, shell_form = _command(node, path)
        return (Cmd if keyword == "cmd" else Entrypoint)(loc, command, shell_form)
    if keyword == "shell":
        if node.json_args is None:
            raise _err(node, path, "SHELL requires the arguments in JSON form "
                                   '(SHELL ["/bin/sh", "-c"])')
        if not node.json_args:
            raise _err(node, path, "SHELL requires at least one argument")
        return Shell(loc, node.json_args)
    if keyword == "workdir":
        return Workdir(loc, _single(node, path))
    if keyword == "user":
        return User(loc, _single(node, path))
    if keyword == "stopsignal":
        return StopSignal(loc, _single(node, path))
    if keyword == "maintainer":
        return Maintainer(loc, _single(node, path))
    if keyword == "expose":
        if node.json_args is not None:
            raise _err(node, path, "EXPOSE takes ports separated by spaces, not a JSON array")
        if not node.args:
            raise _err(node, path, "EXPOSE requires at least one argument")
        return Expose(loc, tuple(node.args.split()))
    if keyword == "volume":
        paths = _list_args(node)
        if not paths:
            raise _err(node, path, "VOLUME requires at least one argument")
        return Volume(loc, paths)
    if keyword == "healthcheck":
        return _healthcheck(node, loc, flags, path)
    raise _err(node, path, f"{keyword.upper()} cannot appear here")  # pragma: no cover


def _stage_start(node: Node, path: str, seen: set[str]) -> tuple[str | None, str, str | None]:
    flags = _flags(node, path)
    words = node.args.split()
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
        raise _err(node, path, "FROM requires either one or three arguments "
                               "(FROM <image> [AS <name>])")
    name = None
    if len(words) == 3:
        name = words[2].lower()
        if not _STAGE_NAME.match(name):
            raise _err(node, path, f"invalid stage name {words[2]!r}",
                       hint="a letter, then letters, digits, '-', '_' or '.'")
        if name in seen:
            raise _err(node, path, f"duplicate stage name {words[2]!r}")
        seen.add(name)
    return name, words[0], _opt(flags, "platform")


def parse_dockerfile(text: str | bytes, path: str = "Dockerfile") -> Dockerfile:
    result = parse(text, path)
    meta: list[Arg] = []
    stages: list[Stage] = []
    names: set[str] = set()
    current: tuple[Node, str | None, str, str | None] | None = None
    commands: list[Instruction] = []

    def close() -> None:
        if current is None:
            return
        node, name, base, platform = current
        loc = Location(path, node.start_line, node.end_line, node.original)
        stages.append(Stage(len(stages), name, base, platform, loc, tuple(commands)))

    for node in result.nodes:
        if node.instruction == "from":
            close()
            current = (node, *_stage_start(node, path, names))
            commands = []
            continue
        instruction = to_instruction(node, path)
        if current is None:
            if not isinstance(instruction, Arg):
                raise _err(node, path, f"{node.instruction.upper()} before the first FROM",
                           hint="only ARG may come before FROM; every other instruction "
                                "needs a build stage")
            meta.append(instruction)
        else:
            commands.append(instruction)
    close()
    if not stages:
        line = result.nodes[-1].start_line if result.nodes else None
        raise DockerfileError("no FROM instruction: the Dockerfile has no build stage",
                              path=path, line=line)
    return Dockerfile(path, tuple(stages), tuple(meta), result.directives, result.warnings)
