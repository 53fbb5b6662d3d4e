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


# The Python versions each Airflow release line publishes images for: ``apache/airflow:X.Y.Z-pythonA.B``
# exists only for these. Read from each line's own package metadata (apache-airflow 2.x,
# apache-airflow-core 3.x: Requires-Python and the Python classifiers), which the image build follows.
PUBLISHED_PYTHONS: dict[tuple[int, int], tuple[str, ...]] = {
    (2, 9): ("3.8", "3.9", "3.10", "3.11", "3.12"),
    (2, 10): ("3.8", "3.9", "3.10", "3.11", "3.12"),
    (2, 11): ("3.9", "3.10", "3.11", "3.12"),
    (3, 0): ("3.9", "3.10", "3.11", "3.12"),
    (3, 1): ("3.10", "3.11", "3.12", "3.13"),
    (3, 2): ("3.10", "3.11", "3.12", "3.13", "3.14"),
    (3, 3): ("3.10", "3.11", "3.12", "3.13", "3.14"),
}
# Python for a major upgrade when the current one is not published for the new line: the newest
# version every 3.x line from 3.1 on publishes.
DEFAULT_MAJOR_PYTHON = "3.12"


def published_pythons(version: tuple[int, int, int]) -> tuple[str, ...] | None:
    """The Python versions release ``version`` publishes images for; None for a line older than the
    table (nothing to check). A line newer than the table is taken to publish what the newest known
    line does: new lines drop old Pythons, they do not bring them back."""
    line = version[:2]
    if line in PUBLISHED_PYTHONS:
        return PUBLISHED_PYTHONS[line]
    newest = max(PUBLISHED_PYTHONS)
    return PUBLISHED_PYTHONS[newest] if line > newest else None


def _python_of(suffix: str) -> str:
    return suffix.removeprefix("python")


def requested_tag(requested: str, current: AirflowTag) -> AirflowTag:
    """The tag to move to: ``2.11.1`` keeps the current Python suffix; ``2.11.1-python3.12`` is as given.

    A release given without a suffix keeps the current Python when the new release publishes it; on
    a major upgrade whose line no longer publishes the current Python (Airflow 3.1+ has no 3.9
    images) the suffix becomes ``DEFAULT_MAJOR_PYTHON``. A suffix given explicitly must be published.
    """
    tag = parse_tag(requested.strip())
    if tag is None:
        raise UserError(
            f"malformed Airflow version {requested!r}: give a release such as 2.11.1 or 2.11.1-python3.9"
        )
    published = published_pythons(tag.version)
    explicit = bool(tag.suffix) or "-" in requested
    if not explicit and current.suffix:
        keep = published is None or _python_of(current.suffix) in published
        major = tag.version[0] != current.version[0]
        if keep:
            tag = AirflowTag(tag.version, current.suffix)
        elif major:
            tag = AirflowTag(tag.version, "python" + DEFAULT_MAJOR_PYTHON)
        else:
            raise UserError(
                f"Airflow {_release(tag)} publishes no image for Python {_python_of(current.suffix)} "
                f"(only {', '.join(published or ())}): give the tag with one, e.g. "
                f"{_release(tag)}-python{(published or (DEFAULT_MAJOR_PYTHON,))[-1]}"
            )
    if tag.suffix and published is not None and _python_of(tag.suffix) not in published:
        raise UserError(
            f"apache/airflow:{tag} is not published: Airflow {_release(tag)} images exist for Python "
            f"{', '.join(published)}"
        )
    return tag


def _release(tag: AirflowTag) -> str:
    return ".".join(str(part) for part in tag.version)


def is_major_upgrade(current: AirflowTag, target: AirflowTag) -> bool:
    return target.version[0] > current.version[0]


def check_upgrade(current: AirflowTag, target: AirflowTag, label: str, *, major: bool = False) -> None:
    """Refuse a no-op, a downgrade (the DB migration is one-way) and a major upgrade not asked for."""
    if target == current:
        raise UserError(f"{label} already runs apache/airflow:{current}; nothing to upgrade")
    if target.version < current.version:
        if target.version[0] < current.version[0]:
            raise UserError(
                f"refusing to downgrade {label} from Airflow {current.version[0]} to {target.version[0]} "
                f"({current} -> {target}): the database migration to Airflow {current.version[0]} is "
                "one-way; the way back is the backup taken before the upgrade "
                "(gitops-tool backup restore), with the previous commit reverted in Git"
            )
        raise UserError(
            f"refusing to downgrade {label} from {current} to {target}: DB migrations only go forward "
            "(restore a backup taken before the upgrade instead)"
        )
    if is_major_upgrade(current, target) and not major:
        raise UserError(
            f"{_release(target)} is a major upgrade of {label} from Airflow {_release(current)}: the "
            "layout changes (api-server replaces the webserver, a DAG processor is added, configuration "
            "moves) and the database migration is one-way; take a backup, read docs/airflow-3.md, "
            "then run again with --major"
        )
    if major and not is_major_upgrade(current, target):
        raise UserError(f"--major is for an upgrade to a new major release; {current} -> {target} is not one")


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
