"""The Dockerfile frontend: parse, type, resolve; plus the build context and its sources.

Layered as BuildKit's frontend is: `parser` (text -> nodes) knows no instruction semantics,
`instructions` (nodes -> typed stages) knows no platforms, `resolve` (stages -> expanded,
scoped, platform-aware stages) is what backends dispatch on. `context` resolves COPY/ADD
sources over a listing of the build context.
"""

from __future__ import annotations

from e2e_images.build.dockerfile.context import (
    BuildContext,
    CopyItem,
    CopyPlan,
    Entry,
    Listing,
    RemoteSource,
    archive_kind,
    list_context,
    resolve_sources,
)
from e2e_images.build.dockerfile.expand import ExpansionError, expand_word
from e2e_images.build.dockerfile.ignore import DockerIgnore, IgnoreRule, parse_dockerignore
from e2e_images.build.dockerfile.instructions import (
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
    parse_dockerfile,
)
from e2e_images.build.dockerfile.parser import Directives, Node, ParseResult, ParseWarning, parse
from e2e_images.build.dockerfile.resolve import DEFAULT_LINUX_PATH, build_args_for, resolve
from e2e_images.build.dockerfile.resolved import (
    Base,
    BaseImageConfig,
    ImageDependency,
    ResolvedDockerfile,
    ResolvedStage,
    Step,
)

__all__ = [
    "DEFAULT_LINUX_PATH", "Add", "Arg", "ArgDecl", "Base", "BaseImageConfig", "BuildContext",
    "Cmd", "Copy", "CopyItem", "CopyPlan", "Directives", "DockerIgnore", "Dockerfile",
    "Entry", "Entrypoint", "Env", "ExpansionError", "Expose", "Healthcheck", "IgnoreRule",
    "ImageDependency", "Instruction", "KeyValue", "Label", "Listing", "Location", "Maintainer",
    "Mount", "Node", "ParseResult", "ParseWarning", "RemoteSource", "ResolvedDockerfile",
    "ResolvedStage", "Run", "Shell", "Stage", "Step", "StopSignal", "User", "Volume",
    "Workdir", "archive_kind", "build_args_for", "expand_word", "list_context", "parse",
    "parse_dockerfile", "parse_dockerignore", "resolve", "resolve_sources",
]
