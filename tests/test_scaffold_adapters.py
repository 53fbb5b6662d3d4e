"""Round-trip YAML edits, the repository lock and the transactional writer, on real files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gitops_tool.adapters import yaml_roundtrip
from gitops_tool.adapters.repo_lock import LOCK_NAME, repository_lock
from gitops_tool.adapters.transaction import FileTransaction
from gitops_tool.core.scaffold.plan import MappingDelete, MappingSet, SequenceInsert, SequenceRemove
from gitops_tool.errors import RepositoryError

TEXT = """\
# head comment
resources:
  - ../../base   # the base
  # the first scheduler:
  - schedulers/scheduler-1
  - "schedulers/scheduler-2"
# after the list
roles:
  management: 'node-1'
  scheduler-1: node-2  # big node
  scheduler-2: node-3
# the end
"""


def _edit(text: str, *edits: object) -> str:
    loaded = yaml_roundtrip.load(text, "test.yaml")
    for edit in edits:
        yaml_roundtrip.apply_edit(loaded, edit, "test.yaml")  # type: ignore[arg-type]
    return yaml_roundtrip.dump(loaded.documents, loaded.style)


def test_round_trip_without_edits_is_byte_identical() -> None:
    assert _edit(TEXT) == TEXT


def test_insert_at_the_end_keeps_the_comment_after_the_list_after_it() -> None:
    out = _edit(
        TEXT,
        SequenceInsert("f", ("resources",), 3, "schedulers/scheduler-3"),
        MappingSet("f", ("roles",), "scheduler-3", "node-4", 3),
    )
    assert out == TEXT.replace(
        '  - "schedulers/scheduler-2"\n', '  - "schedulers/scheduler-2"\n  - schedulers/scheduler-3\n'
    ).replace("  scheduler-2: node-3\n", "  scheduler-2: node-3\n  scheduler-3: node-4\n")


def test_remove_then_insert_is_the_identity() -> None:
    removed = _edit(
        TEXT,
        SequenceRemove("f", ("resources",), 2),
        MappingDelete("f", ("roles",), "scheduler-2"),
    )
    assert "# after the list\n" in removed and removed.endswith("node-2  # big node\n# the end\n")
    back = _edit(
        removed,
        SequenceInsert("f", ("resources",), 2, "schedulers/scheduler-2"),
        MappingSet("f", ("roles",), "scheduler-2", "node-3", 2),
    )
    assert back == TEXT.replace('"schedulers/scheduler-2"', "schedulers/scheduler-2")


def test_setting_an_existing_key_keeps_its_place() -> None:
    out = _edit(TEXT, MappingSet("f", ("roles",), "scheduler-1", "node-9"))
    assert "  scheduler-1: node-9  # big node\n" in out


def test_style_is_kept_for_unindented_lists() -> None:
    text = "resources:\n- a\n- b\nname: x\n"
    assert _edit(text, SequenceInsert("f", ("resources",), 2, "c")) == "resources:\n- a\n- b\n- c\nname: x\n"


def test_lock_excludes_a_second_holder_and_is_released(tmp_path: Path) -> None:
    with repository_lock(tmp_path, "add-scheduler") as lock:
        assert lock.path.read_text().split()[0] == str(os.getpid())
        assert lock.taken_over is None
        with (
            pytest.raises(RepositoryError, match="another gitops-tool add/remove is running"),
            repository_lock(tmp_path, "remove-scheduler"),
        ):
            pass
    assert not (tmp_path / LOCK_NAME).exists()


def test_lock_of_another_host_is_never_taken_over(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("1 some-other-host add-scheduler\n")
    with pytest.raises(RepositoryError, match="pid 1 on some-other-host"), repository_lock(tmp_path, "add"):
        pass


def test_lock_left_by_a_dead_process_is_stale(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / LOCK_NAME).write_text(f"{gone.pid} {os.uname().nodename} add-scheduler\n")
    with repository_lock(tmp_path, "add-scheduler") as lock:
        assert lock.path.read_text().split()[0] == str(os.getpid())
        assert lock.taken_over == f"pid {gone.pid} on {os.uname().nodename}: add-scheduler"


def test_transaction_rolls_back_every_step(tmp_path: Path) -> None:
    (tmp_path / "keep.yaml").write_text("old\n")
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "f").write_text("f\n")
    with pytest.raises(RuntimeError), FileTransaction(tmp_path) as tx:
        tx.create_folder("a/b/new", {"x.yaml": "x\n", "sub/y.yaml": "y\n"})
        tx.write_file("keep.yaml", "new\n")
        tx.write_file("created.yaml", "c\n")
        tx.remove_folder("gone")
        assert (tmp_path / "a" / "b" / "new" / "sub" / "y.yaml").read_text() == "y\n"
        raise RuntimeError("validation failed")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "gone",
        "gone/f",
        "keep.yaml",
    ]
    assert (tmp_path / "keep.yaml").read_text() == "old\n"


def test_transaction_finish_keeps_changes_and_drops_the_removed_folder(tmp_path: Path) -> None:
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "f").write_text("f\n")
    with FileTransaction(tmp_path) as tx:
        tx.create_folder("new", {"x.yaml": "x\n"})
        tx.remove_folder("gone")
        tx.finish()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["new", "new/x.yaml"]
    assert oct((tmp_path / "new").stat().st_mode & 0o777) == "0o755"
