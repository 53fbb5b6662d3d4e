"""Container image references: parsing (tag, digest) and where each image is used."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.objects import Manifest, describe
from gitops_tool.errors import UserError

_DIGEST_ALGORITHMS = ("sha256:", "sha512:")


@dataclass(frozen=True, order=True)
class ImageRef:
    """``[registry/]repository[:tag][@digest]``, as Kubernetes accepts it."""

    repository: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def pinned(self) -> bool:
        """A tag other than ``latest``, or a digest: the reference names one image for good."""
        return bool(self.digest) or (bool(self.tag) and self.tag != "latest")


def parse_image(reference: str) -> ImageRef:
    """Split an image reference; ``localhost:5000/app:1.0@sha256:...`` keeps the registry port."""
    text = reference.strip()
    if not text or any(ch.isspace() for ch in text):
        raise UserError(f"invalid image reference {reference!r}")
    name, _, digest = text.partition("@")
    if digest and not (digest.startswith(_DIGEST_ALGORITHMS) and len(digest.split(":", 1)[1]) >= 32):
        raise UserError(f"invalid image reference {reference!r}: malformed digest")
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not tag:
            raise UserError(f"invalid image reference {reference!r}: empty tag")
    if not name:
        raise UserError(f"invalid image reference {reference!r}")
    return ImageRef(name, tag, digest)


# Where each workload kind keeps its pod spec.
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def pod_spec(obj: Manifest) -> dict[str, Any] | None:
    """The pod spec of a workload object, or None for kinds that run no pods."""
    path = _POD_SPEC_PATHS.get(str(obj.get("kind", "")))
    node: Any = obj
    for key in path or ():
        node = node.get(key) if isinstance(node, dict) else None
    return node if path and isinstance(node, dict) else None


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in _CONTAINER_LISTS:
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                yield container


def embedded_pods(obj: Manifest) -> Iterator[Manifest]:
    """Pod manifests carried as text in a ConfigMap (KubernetesExecutor worker pod templates)."""
    if obj.get("kind") != "ConfigMap":
        return
    for key, value in (obj.get("data") or {}).items():
        if isinstance(value, str) and "kind: Pod" in value:
            for pod in parse_manifests(value, f"{describe(obj)} data[{key}]"):
                if pod.get("kind") == "Pod":
                    yield pod


@dataclass
class ImageUse:
    image: ImageRef
    workloads: list[str] = field(default_factory=list)


def container_images(objects: Iterable[Manifest]) -> Iterator[tuple[str, str]]:
    """``(where, image reference)`` for every container of every workload and worker pod template.

    ``where`` reads ``Deployment/airflow/web [web]`` or ``ConfigMap/airflow/t (pod template) [base]``.
    """
    for obj in objects:
        owner = describe(obj)
        pods: list[tuple[str, Manifest]] = [(owner, obj)]
        pods += [(f"{owner} (pod template)", pod) for pod in embedded_pods(obj)]
        for label, pod in pods:
            spec = pod_spec(pod)
            for container in containers(spec) if spec else ():
                yield f"{label} [{container.get('name', '?')}]", str(container.get("image", ""))


def image_uses(objects: Iterable[Manifest]) -> list[ImageUse]:
    """Every image with the workloads (and worker pod templates) that run it, sorted by image."""
    uses: dict[ImageRef, ImageUse] = {}
    for where, reference in container_images(objects):
        image = parse_image(reference)
        use = uses.setdefault(image, ImageUse(image))
        if where not in use.workloads:
            use.workloads.append(where)
    return [uses[key] for key in sorted(uses)]
