"""The runtime config: env, entrypoint, cmd, labels, exposed ports, workdir, user.

Values are exact, except `*` (present, any value) for env and labels. Fields left unset are
not checked; an empty list for entrypoint or cmd means "must be empty".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from e2e_images.verify.result import CheckResult, Finding
from e2e_images.verify.view import ImageView

__all__ = ["ANY", "MetadataCheck"]

ANY = "*"


def _port(text: str) -> str:
    return text if "/" in text else f"{text}/tcp"


@dataclass(frozen=True, slots=True)
class MetadataCheck:
    env: Mapping[str, str] = field(default_factory=dict)
    unset_env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] | None = None
    workdir: str | None = None
    user: str | None = None

    def validate(self) -> None:
        for port in self.exposed_ports or ():
            number, _, proto = _port(port).partition("/")
            if not number.isdigit() or proto not in ("tcp", "udp", "sctp"):
                raise ValueError(f"exposed port {port!r}: want <number>[/tcp|udp|sctp]")
        both = set(self.env) & set(self.unset_env)
        if both:
            raise ValueError(f"env {sorted(both)} both required and forbidden")

    def run(self, view: ImageView) -> CheckResult:
        config = view.config
        out: list[Finding] = []

        def bad(rule: str, subject: str, message: str) -> None:
            out.append(Finding(rule, view.platform, subject, message))

        env = config.env
        for name, want in self.env.items():
            have = env.get(name)
            if have is None:
                bad("META-ENV", f"Env.{name}", "not set")
            elif want != ANY and have != want:
                bad("META-ENV", f"Env.{name}", f"is {have!r}, want {want!r}")
        for name in self.unset_env:
            if name in env:
                bad("META-ENV", f"Env.{name}", f"is set ({env[name]!r}) but must not be")
        for rule, name, want, have in (("META-ENTRYPOINT", "Entrypoint", self.entrypoint,
                                        config.entrypoint),
                                       ("META-CMD", "Cmd", self.cmd, config.cmd)):
            if want is not None and tuple(have) != want:
                bad(rule, name, f"is {list(have)}, want {list(want)}")
        labels = config.labels
        for name, want in self.labels.items():
            have = labels.get(name)
            if have is None:
                bad("META-LABEL", f"Labels.{name}", "not set")
            elif want != ANY and have != want:
                bad("META-LABEL", f"Labels.{name}", f"is {have!r}, want {want!r}")
        if self.exposed_ports is not None:
            have_ports = set(config.runtime.get("ExposedPorts") or {})
            want_ports = {_port(p) for p in self.exposed_ports}
            if have_ports != want_ports:
                bad("META-PORTS", "ExposedPorts",
                    f"is {sorted(have_ports)}, want {sorted(want_ports)}")
        for rule, name, want in (("META-WORKDIR", "WorkingDir", self.workdir),
                                 ("META-USER", "User", self.user)):
            have_text = str(config.runtime.get(name) or "")
            if want is not None and have_text != want:
                bad(rule, name, f"is {have_text!r}, want {want!r}")
        return CheckResult("metadata", view.subject, tuple(out))
