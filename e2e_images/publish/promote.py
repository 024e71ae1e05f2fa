"""From a green gate run to a promotion: images.yaml entries, and optionally the copies.

Only lists whose verification passed in the gate's results file are proposed; helper and
cache images (the catalog's promotion policy) and staging-only mirrors (the mirror config)
never are. A tag that already names a different digest, in the existing images.yaml or in
the destination registry, is refused with both digests: a changed image needs a new VERSION.

Without `confirm` nothing is copied: the proposal is images.yaml, as a pull request to
kubernetes/k8s.io would carry it. With `confirm` each list and everything under it is copied
to the destination by digest first, and images.yaml is replaced (atomically) only after every
copy succeeded, so a failed run leaves the old file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from e2e_images.errors import PromotionRefused, RegistryError
from e2e_images.publish.files import write_atomic
from e2e_images.publish.images_yaml import ImagesYaml
from e2e_images.publish.mirror import MirrorConfig, staging_reference
from e2e_images.publish.policy import PromotionPolicy
from e2e_images.publish.results import GateResults
from e2e_images.registry.pool import ClientPool
from e2e_images.registry.reference import parse_reference
from e2e_images.registry.write import copy_manifest_tree

__all__ = ["Promotion", "PromotionPlan", "Skipped", "TagMove", "apply_promotion",
           "check_destination", "plan_promotion", "promote", "staging_only_digests"]

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Promotion:
    name: str
    tag: str
    digest: str  # the verified manifest-list digest
    new: bool  # False: images.yaml already says exactly this


@dataclass(frozen=True, slots=True)
class Skipped:
    name: str
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class TagMove:
    name: str
    tag: str
    held: str  # the digest the tag names now
    proposed: str  # the verified digest
    where: str  # images.yaml path or destination registry

    def message(self) -> str:
        return (f"{self.name}:{self.tag} is {self.held} in {self.where}; refusing to move it "
                f"to {self.proposed}")


@dataclass(frozen=True, slots=True)
class PromotionPlan:
    promotions: tuple[Promotion, ...]
    skipped: tuple[Skipped, ...]
    moves: tuple[TagMove, ...] = ()

    def refuse_moves(self) -> None:
        if self.moves:
            raise PromotionRefused(
                "; ".join(m.message() for m in self.moves),
                hint="a changed image needs a new VERSION: tags are never moved")


def staging_only_digests(pool: ClientPool, registry: str, mirrors: MirrorConfig | None
                         ) -> frozenset[str]:
    """The digests staging holds for the configured mirrors (those present)."""
    specs = mirrors.mirrors if mirrors is not None else ()
    found = {s.digest for s in specs if s.digest}
    for spec in specs:
        ref = staging_reference(registry, spec)
        try:
            held = pool.client(ref.registry).head_manifest(ref.repository, spec.tag)
        except RegistryError:
            break  # staging unreachable (a dry run after a hermetic gate): names still apply
        if held is not None:
            found.add(held.digest)
    return frozenset(found)


def plan_promotion(results: GateResults, images_yaml: ImagesYaml, *,
                   policy: PromotionPolicy, mirrors: MirrorConfig | None = None,
                   mirror_digests: Iterable[str] = ()) -> PromotionPlan:
    """What may be promoted, what is skipped and why, and which tags would move."""
    staging_only = mirrors.staging_only() if mirrors is not None else frozenset()
    mirror_digests = frozenset(mirror_digests)
    promotions: list[Promotion] = []
    skipped: list[Skipped] = []
    moves: list[TagMove] = []
    for image in results.images:
        name, tag, digest = image.name, image.version, image.list_digest
        reason = policy.reason(image.name, image.dir)
        if reason is None and ((name, tag) in staging_only or digest in mirror_digests):
            reason = "staging-only mirror, never promoted"
        if reason is None and not image.passed:
            reason = (f"verification failed ({len(image.findings)} findings)"
                      if image.findings else f"not verified: {image.error or 'failed'}")
        if reason is None and digest is None:
            reason = "no manifest list (per-platform tags only)"
        if reason is not None or digest is None:
            skipped.append(Skipped(name, tag, reason or "no digest"))
            continue
        held = images_yaml.digest_of(name, tag)
        if held is not None and held != digest:
            moves.append(TagMove(name, tag, held, digest, images_yaml.source))
            continue
        promotions.append(Promotion(name, tag, digest, new=held is None))
    return PromotionPlan(tuple(promotions), tuple(skipped), tuple(moves))


def check_destination(plan: PromotionPlan, pool: ClientPool, to: str) -> PromotionPlan:
    """Add the tag moves the destination registry would suffer."""
    moves = list(plan.moves)
    for p in plan.promotions:
        ref = parse_reference(f"{to.rstrip('/')}/{p.name}:{p.tag}")
        held = pool.client(ref.registry).head_manifest(ref.repository, p.tag)
        if held is not None and held.digest != p.digest:
            moves.append(TagMove(p.name, p.tag, held.digest, p.digest, to))
    return PromotionPlan(plan.promotions, plan.skipped, tuple(moves))


def apply_promotion(plan: PromotionPlan, pool: ClientPool, source: str, to: str,
                    progress: Progress | None = None) -> None:
    """Copy every promoted list, children first, by digest; then tag it at `to`."""
    for p in plan.promotions:
        src_ref = parse_reference(f"{source.rstrip('/')}/{p.name}@{p.digest}")
        dst_ref = parse_reference(f"{to.rstrip('/')}/{p.name}:{p.tag}")
        src = pool.client(src_ref.registry)
        if src.head_manifest(src_ref.repository, p.digest) is None:
            raise RegistryError(f"{src_ref} is not in the source registry",
                                hint="promote from the registry the gate verified")
        copied = copy_manifest_tree(src, src_ref.repository, p.digest,
                                    pool.client(dst_ref.registry), dst_ref.repository, p.tag)
        if copied != p.digest:
            raise RegistryError(f"{dst_ref} holds {copied} after the copy, not {p.digest}")
        if progress is not None:
            progress(f"copied {src_ref} -> {dst_ref}")


def promote(results: GateResults, images_yaml_path: str | Path, pool: ClientPool, *,
            policy: PromotionPolicy, mirrors: MirrorConfig | None = None,
            source: str | None = None, to: str | None = None, confirm: bool = False,
            write: bool = True, progress: Progress | None = None) -> PromotionPlan:
    """Plan, refuse tag moves, copy (with `confirm`), then write images.yaml.

    `source` defaults to the registry the gate ran against; `to` is required to confirm.
    Raises PromotionRefused before anything is copied or written.
    """
    source = (source or results.registry).rstrip("/")
    if confirm and not to:
        raise PromotionRefused("--confirm needs a destination registry (--to)")
    doc = ImagesYaml.load(images_yaml_path)
    plan = plan_promotion(results, doc, policy=policy, mirrors=mirrors,
                          mirror_digests=staging_only_digests(pool, source, mirrors))
    if to:
        plan = check_destination(plan, pool, to)
    plan.refuse_moves()
    if confirm and to:
        apply_promotion(plan, pool, source, to, progress)
    changed = False
    for p in plan.promotions:
        changed |= doc.add(p.name, p.digest, p.tag)
    if write and changed:
        write_atomic(images_yaml_path, doc.dumps())
    return plan
