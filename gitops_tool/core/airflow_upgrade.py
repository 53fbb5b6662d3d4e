"""Planning an Airflow image upgrade in Git: tags, where the image appears, how files change.

An image reference is ``[registry/]apache/airflow:TAG[@sha256:DIGEST]``. A digest pins the old
image, so an upgrade drops it (digests are recorded by operators, never invented here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from gitops_tool.core.conventions import AIRFLOW_IMAGE_REPOSITORY
from gitops_tool.core.images import ImageRef, container_images, parse_image
from gitops_tool.core.objects import Manifest
from gitops_tool.errors import UserError

_TAG = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)(?:-(?P<suffix>python3\.\d+))?$"
)
_REF = re.compile(
    r"(?<![\w./-])(?P<repo>(?:[\w.-]+(?::\d+)?/)?" + re.escape(AIRFLOW_IMAGE_REPOSITORY) + r")"
    r":(?P<tag>[\w][\w.-]{0,127})(?P<digest>@sha256:[0-9a-f]{64})?(?![\w.@-])"
)


@dataclass(frozen=True, order=True)
class AirflowTag:
    """A release tag of the apache/airflow image such as ``2.11.0-python3.9``."""

    version: tuple[int, int, int]
    suffix: str  # "python3.9", or "" for the default-Python image

    def __str__(self) -> str:
        text = ".".join(str(part) for part in self.version)
        return f"{text}-{self.suffix}" if self.suffix else text


def parse_tag(text: str) -> AirflowTag | None:
    match = _TAG.match(text)
    if match is None:
        return None
    version = (int(match["major"]), int(match["minor"]), int(match["patch"]))
    return AirflowTag(version, match["suffix"] or "")


def requested_tag(requested: str, current: AirflowTag) -> AirflowTag:
    """The tag to move to: ``2.11.1`` keeps the current Python suffix; ``2.11.1-python3.12`` is as given."""
    tag = parse_tag(requested.strip())
    if tag is None:
        raise UserError(
            f"malformed Airflow version {requested!r}: give a release such as 2.11.1 or 2.11.1-python3.9"
        )
    if not tag.suffix and current.suffix and "-" not in requested:
        tag = AirflowTag(tag.version, current.suffix)
    return tag


def check_upgrade(current: AirflowTag, target: AirflowTag, label: str) -> None:
    """Refuse a no-op and a downgrade (the DB migration is one-way)."""
    if target == current:
        raise UserError(f"{label} already runs apache/airflow:{current}; nothing to upgrade")
    if target.version < current.version:
        raise UserError(
            f"refusing to downgrade {label} from {current} to {target}: DB migrations only go forward "
            "(restore a backup taken before the upgrade instead)"
        )


@dataclass(frozen=True)
class ImageUse:
    where: str  # e.g. "Deployment/airflow/airflow-webserver container webserver"
    reference: str
    tag: str


def _is_airflow(image: ImageRef) -> bool:
    repo = image.repository
    return repo == AIRFLOW_IMAGE_REPOSITORY or repo.endswith("/" + AIRFLOW_IMAGE_REPOSITORY)


def find_references(text: str) -> Iterator[re.Match[str]]:
    return _REF.finditer(text)


def image_uses(objects: Iterable[Manifest]) -> list[ImageUse]:
    """Every apache/airflow reference in rendered objects: containers, and the worker pod templates
    kept as text in ConfigMaps (pod_template_file), which kustomize's images transformer never sees."""
    uses: list[ImageUse] = []
    for where, reference in container_images(objects):
        image = parse_image(reference)
        if _is_airflow(image):
            uses.append(ImageUse(where, reference, image.tag))
    return uses


def current_tag(uses: list[ImageUse], label: str) -> AirflowTag:
    """The one Airflow tag an overlay runs; mixed or unparsable tags are refused with where they are."""
    if not uses:
        raise UserError(f"{label} uses no {AIRFLOW_IMAGE_REPOSITORY} image")
    tags = sorted({use.tag for use in uses})
    if len(tags) > 1:
        where = "; ".join(f"{tag} in {', '.join(u.where for u in uses if u.tag == tag)}" for tag in tags)
        raise UserError(f"{label} mixes Airflow tags: {where}; make them one first")
    parsed = parse_tag(tags[0])
    if parsed is None:
        raise UserError(
            f"{label} runs apache/airflow:{tags[0]}, which is not a release tag this tool can compare"
        )
    return parsed


def retag_text(text: str, old: AirflowTag, new: AirflowTag) -> tuple[str, int]:
    """``text`` with every ``apache/airflow:OLD[@digest]`` made ``apache/airflow:NEW``; and how many."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match["tag"] != str(old):
            return match[0]
        count += 1
        return f"{match['repo']}:{new}"

    return _REF.sub(replace, text), count


def retag_images_entries(images: Any, old: AirflowTag, new: AirflowTag) -> int:
    """Set ``newTag`` of kustomize ``images:`` entries for apache/airflow from OLD to NEW, in place.

    Works on ruamel's round-trip maps, so comments and key order of the kustomization survive.
    """
    if not isinstance(images, list):
        return 0
    count = 0
    for entry in images:
        if not isinstance(entry, MutableMapping):
            continue
        name = str(entry.get("newName") or entry.get("name") or "")
        if not (name == AIRFLOW_IMAGE_REPOSITORY or name.endswith("/" + AIRFLOW_IMAGE_REPOSITORY)):
            continue
        if str(entry.get("newTag", "")) != str(old):
            continue
        entry["newTag"] = str(new)
        if "digest" in entry:
            del entry["digest"]
        count += 1
    return count


def commit_message(new: AirflowTag, labels: list[str]) -> str:
    return f"Upgrade Airflow to {new} ({', '.join(labels)})"
