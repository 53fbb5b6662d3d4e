"""Packing and validating DAG folders, on real folders in tmp_path."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitops_tool.adapters.dags_source import scan_folder
from gitops_tool.core.dags.bundle import PackLimits, file_digests, pack
from gitops_tool.core.dags.checks import compile_problems
from gitops_tool.core.dags.versions import diff_files, is_version_name, new_manifest, parse_manifest
from gitops_tool.errors import UserError

GOOD_DAG = b"from datetime import datetime\n\nSCHEDULE = '@daily'\nSTART = datetime(2026, 1, 1)\n"


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _members(archive: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return tar.getmembers()


def test_same_tree_packs_to_the_same_bytes_whatever_the_mtimes(tmp_path: Path) -> None:
    files = {"b.py": GOOD_DAG, "a/util.py": b"X = 1\n", "a/sql/q.sql": b"select 1\n"}
    first = _tree(tmp_path / "one", files)
    second = _tree(tmp_path / "two", dict(reversed(list(files.items()))))
    os.utime(second / "b.py", (1_000_000, 1_000_000))
    one, two = pack(scan_folder(first)), pack(scan_folder(second))
    assert one == two
    members = _members(one)
    assert [m.name for m in members] == ["a/sql/q.sql", "a/util.py", "b.py"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.mode) for m in members} == {(0, 0, 0, "", 0o644)}
    assert gzip.decompress(one)  # a plain gzip stream, readable by `tar -xzf`


def test_caches_and_vcs_metadata_are_left_out_and_executables_keep_their_bit(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "dags",
        {
            "d.py": GOOD_DAG,
            "__pycache__/d.cpython-311.pyc": b"\0",
            ".git/HEAD": b"ref",
            "run.sh": b"#!/bin/sh\n",
        },
    )
    (root / "run.sh").chmod(0o755)
    entries = scan_folder(root)
    assert sorted(e.path for e in entries) == ["d.py", "run.sh"]
    modes = {m.name: m.mode for m in _members(pack(entries))}
    assert modes == {"d.py": 0o644, "run.sh": 0o755}


def test_in_tree_symlinks_are_kept_as_relative_links(tmp_path: Path) -> None:
    root = _tree(tmp_path / "dags", {"d.py": GOOD_DAG, "common/helpers.py": b"Y = 2\n"})
    (root / "pkg").mkdir()
    (root / "pkg" / "helpers.py").symlink_to(root / "common" / "helpers.py")  # absolute, inside
    (root / "shared").symlink_to("common")
    links = {m.name: m.linkname for m in _members(pack(scan_folder(root))) if m.issym()}
    assert links == {"pkg/helpers.py": "../common/helpers.py", "shared": "common"}


@pytest.mark.parametrize(
    "target",
    ["../outside.py", "/etc/passwd", "chain"],
)
def test_symlinks_leaving_the_tree_are_refused(tmp_path: Path, target: str) -> None:
    (tmp_path / "outside.py").write_bytes(GOOD_DAG)
    root = _tree(tmp_path / "dags", {"d.py": GOOD_DAG})
    if target == "chain":  # an in-tree link to a link that leaves
        (root / "hop").symlink_to("../outside.py")
        (root / "escape.py").symlink_to("hop")
    else:
        (root / "escape.py").symlink_to(target)
    with pytest.raises(UserError, match=r"is a symlink to .*which leaves the folder"):
        scan_folder(root)


def test_a_folder_without_python_files_is_refused(tmp_path: Path) -> None:
    root = _tree(tmp_path / "dags", {"README.md": b"# dags\n", "q.sql": b"select 1\n"})
    with pytest.raises(UserError, match=r"holds no Python files"):
        scan_folder(root)


def test_size_and_count_bounds_are_enforced(tmp_path: Path) -> None:
    root = _tree(tmp_path / "dags", {"d.py": GOOD_DAG, "data/big.csv": b"x" * 5000})
    with pytest.raises(UserError, match=r"dags/data/big.csv is 4.9 KiB, over the bound of 4.0 KiB per file"):
        scan_folder(root, PackLimits(max_file_bytes=4096))
    with pytest.raises(UserError, match=r"holds 2 files, more than the bound of 1"):
        scan_folder(root, PackLimits(max_files=1))
    with pytest.raises(UserError, match=r"over the bound of 4.0 KiB; use the git-sync component"):
        scan_folder(root, PackLimits(max_total_bytes=4096))
    noise = _tree(tmp_path / "noise", {"d.py": os.urandom(20_000)})
    with pytest.raises(UserError, match=r"the packed DAG folder is .* over the bound of 10.0 KiB"):
        pack(scan_folder(noise), PackLimits(max_archive_bytes=10 * 1024))


def test_missing_folder_and_file_argument_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        scan_folder(tmp_path / "nope")
    (tmp_path / "f.py").write_bytes(GOOD_DAG)
    with pytest.raises(UserError, match="is a file"):
        scan_folder(tmp_path / "f.py")


def test_compile_problems_name_file_line_and_reason(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "dags",
        {
            "ok.py": GOOD_DAG,
            "team/broken.py": b"import os\n\ndef f(:\n    pass\n",
            "indent.py": b"if True:\nx = 1\n",
            "nul.py": b"x = 1\0\n",
            "notes.txt": b"def (:\n",
        },
    )
    problems = [str(p) for p in compile_problems(scan_folder(root))]
    assert len(problems) == 3
    assert problems[0].startswith("indent.py:2:1: IndentationError: expected an indented block")
    assert problems[1].startswith("nul.py")
    assert problems[2].startswith("team/broken.py:3:7: SyntaxError: ")


def test_versions_sort_by_time_and_manifests_diff_by_content() -> None:
    before = {"a.py": "sha256:1", "b.py": "sha256:2", "gone.py": "sha256:3"}
    after = {"a.py": "sha256:1", "b.py": "sha256:9", "new.py": "sha256:4"}
    early = new_manifest(before, datetime(2026, 11, 27, 5, 0, tzinfo=UTC), "dags")
    late = new_manifest(after, datetime(2026, 11, 27, 6, 0, tzinfo=UTC), "dags")
    assert is_version_name(early.version) and early.version.startswith("20261127T050000000Z-")
    assert early.version < late.version
    assert parse_manifest(late.to_json(), "x") == late
    diff = diff_files(before, after)
    assert (diff.added, diff.changed, diff.removed) == (["new.py"], ["b.py"], ["gone.py"])
    assert diff_files(after, dict(after)).unchanged


def test_file_digests_record_content_and_link_targets(tmp_path: Path) -> None:
    root = _tree(tmp_path / "dags", {"d.py": GOOD_DAG})
    (root / "alias.py").symlink_to("d.py")
    digests = file_digests(scan_folder(root))
    assert digests["alias.py"] == "symlink:d.py"
    assert digests["d.py"].startswith("sha256:") and len(digests["d.py"]) == 7 + 64
