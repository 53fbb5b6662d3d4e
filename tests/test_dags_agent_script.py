"""The agent pod's script, run for real by /bin/sh on a tmp folder standing in for the DAG volume."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gitops_tool.adapters.dags_source import scan_folder
from gitops_tool.core.dags.agent import AgentSpec, agent_pod, bundle_configmap, parse_report
from gitops_tool.core.dags.bundle import file_digests, pack
from gitops_tool.core.dags.versions import Manifest, new_manifest, parse_manifest
from tests.dags_agent_runner import run_pod

START = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


class Volume:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "volume"
        self.root.mkdir()
        self.scratch = tmp_path / "scratch"
        self.scratch.mkdir()
        self.source = tmp_path / "src"
        self.pushes = 0

    def push(self, files: dict[str, str], keep: int = 5) -> tuple[int, str, Manifest]:
        if self.source.exists():
            for path in sorted(self.source.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
        for rel, text in files.items():
            (self.source / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.source / rel).write_text(text)
        entries = scan_folder(self.source)
        manifest = new_manifest(file_digests(entries), START + timedelta(minutes=self.pushes), "src")
        self.pushes += 1
        configmap = bundle_configmap("airflow", pack(entries), manifest)
        pod = agent_pod(
            AgentSpec("airflow-dags-push", "airflow", "publish", version=manifest.version, keep=keep)
        )
        code, log = self.run(pod, configmap)
        return code, log, manifest

    def run(self, pod: dict[str, Any], configmap: dict[str, Any] | None = None) -> tuple[int, str]:
        volumes = {"airflow-dags": self.root, "__scratch__": self.scratch / str(self.pushes)}
        configmaps = {configmap["metadata"]["name"]: configmap} if configmap else {}
        return run_pod(pod, volumes, configmaps)

    def rollback(self, to: str = "") -> tuple[int, str]:
        return self.run(agent_pod(AgentSpec("airflow-dags-push", "airflow", "rollback", version=to)))

    def status(self) -> tuple[int, str]:
        return self.run(agent_pod(AgentSpec("airflow-dags-status-0", "airflow", "status")))

    @property
    def published(self) -> Path:
        return self.root / "current"

    def versions(self) -> list[str]:
        return sorted(p.name for p in (self.root / ".dags-push").iterdir())


def test_publish_unpacks_a_version_and_switches_the_relative_link(tmp_path: Path) -> None:
    volume = Volume(tmp_path)
    code, log, manifest = volume.push({"a.py": "A = 1\n", "sub/b.py": "B = 2\n"})
    assert code == 0, log
    report = parse_report(log)
    assert report.fact("published") == manifest.version
    assert report.fact("previous") == ""
    assert str(volume.published.readlink()) == f".dags-push/{manifest.version}/dags"
    assert (volume.published / "sub" / "b.py").read_text() == "B = 2\n"
    stored = parse_manifest(
        (volume.root / ".dags-push" / manifest.version / "manifest.json").read_text(), "v"
    )
    assert stored == manifest
    # Unpacked with the push time (tar -m), not the archive's fixed time 0.
    assert (volume.published / "a.py").stat().st_mtime > 1_000_000_000


def test_second_publish_reports_the_previous_manifest_and_keeps_only_n_older_versions(tmp_path: Path) -> None:
    volume = Volume(tmp_path)
    published = []
    for index in range(4):
        code, log, manifest = volume.push({"a.py": f"A = {index}\n"}, keep=2)
        assert code == 0, log
        published.append(manifest.version)
    report = parse_report(log)
    assert report.fact("previous") == published[2]
    previous = parse_manifest(report.blocks["previous-manifest"], "log")
    assert previous.version == published[2]
    assert report.facts["pruned"] == published[0]
    assert volume.versions() == published[1:]
    assert volume.published.resolve().parent.name == published[3]


def test_a_failed_switch_changes_and_deletes_nothing(tmp_path: Path) -> None:
    volume = Volume(tmp_path)
    code, log, first = volume.push({"a.py": "A = 1\n"})
    assert code == 0
    # Someone copied DAGs by hand over the link (the seed's kubectl cp): a real folder now.
    volume.published.unlink()
    volume.published.mkdir()
    (volume.published / "manual.py").write_text("M = 1\n")
    code, log, _ = volume.push({"a.py": "A = 2\n"})
    assert code == 1
    assert "is a real file or folder, not a published link" in parse_report(log).error
    assert (volume.published / "manual.py").read_text() == "M = 1\n"
    assert volume.versions() == [first.version]


def test_rollback_switches_to_the_version_before_and_status_reads_it(tmp_path: Path) -> None:
    volume = Volume(tmp_path)
    versions = [volume.push({"a.py": f"A = {i}\n"})[2].version for i in range(3)]
    code, log = volume.rollback()
    assert code == 0, log
    report = parse_report(log)
    assert (report.fact("previous"), report.fact("published")) == (versions[2], versions[1])
    assert (volume.published / "a.py").read_text() == "A = 1\n"
    code, log = volume.rollback()
    assert parse_report(log).fact("published") == versions[0]
    code, log = volume.rollback()
    assert code == 1 and "no earlier version" in parse_report(log).error
    code, log = volume.rollback(versions[2])
    assert parse_report(log).fact("published") == versions[2]
    assert volume.versions() == versions  # rollback deletes nothing

    code, log = volume.status()
    status = parse_report(log)
    assert code == 0, log
    assert (status.fact("kind"), status.fact("version")) == ("push", versions[2])
    assert json.loads(status.blocks["published-manifest"])["version"] == versions[2]
    assert status.fact("versions").split() == versions


def test_status_recognises_a_git_sync_worktree(tmp_path: Path) -> None:
    volume = Volume(tmp_path)
    worktree = volume.root / ".git-sync" / ".worktrees" / ("c0ffee" * 6 + "abcd")
    worktree.mkdir(parents=True)
    (volume.root / "current").symlink_to(f".git-sync/.worktrees/{worktree.name}")
    code, log = volume.status()
    report = parse_report(log)
    assert code == 0, log
    assert (report.fact("kind"), report.fact("version")) == ("git-sync", worktree.name)
    assert report.fact("modified").isdigit()
