"""The backup CronJob and the restore Job, as rendered, against a real PostgreSQL.

Each test gets a fresh database `airflow` owned by the role `airflow` (as in the cluster, Airflow and
the backup pods log in as that role), filled with Airflow-like tables. The containers run through
tests/real/backup_pods.py: their command, environment and scripts come from the render; only the
server's address, the Secret's value and the mounted folders are this machine's.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.backup_pods import PASSWORD, BackupPods, run_psql_as
from tests.real.servers import Postgres, postgres_server

pytestmark = pytest.mark.slow

TABLES = ("alembic_version", "dag", "dag_run", "task_instance", "xcom", "serialized_dag")
SCHEMA = """
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
CREATE TABLE dag (dag_id varchar(250) PRIMARY KEY, is_paused boolean, last_parsed_time timestamptz,
                  fileloc text);
CREATE TABLE dag_run (id serial PRIMARY KEY, dag_id varchar(250) NOT NULL REFERENCES dag,
                      run_id varchar(250) NOT NULL, state varchar(50), execution_date timestamptz,
                      conf bytea, UNIQUE (dag_id, run_id));
CREATE TABLE task_instance (dag_id varchar(250), task_id varchar(250), run_id varchar(250),
                            map_index integer DEFAULT -1, state varchar(20), try_number integer,
                            start_date timestamptz, duration double precision,
                            PRIMARY KEY (dag_id, task_id, run_id, map_index),
                            FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id)
                              ON DELETE CASCADE);
CREATE INDEX ti_state ON task_instance (state);
CREATE TABLE xcom (dag_run_id integer REFERENCES dag_run ON DELETE CASCADE, task_id varchar(250),
                   key varchar(512), value bytea, PRIMARY KEY (dag_run_id, task_id, key));
CREATE TABLE serialized_dag (dag_id varchar(250) PRIMARY KEY REFERENCES dag, data json,
                             dag_hash varchar(32));
INSERT INTO alembic_version VALUES ('5f2621c13b39');
INSERT INTO dag SELECT 'dag_' || i, i % 3 = 0, '2026-11-01'::timestamptz + i * interval '1 minute',
                       '/opt/airflow/dags/d' || i || '.py' FROM generate_series(1, 40) i;
INSERT INTO dag_run (dag_id, run_id, state, execution_date, conf)
  SELECT 'dag_' || (i % 40 + 1), 'scheduled__' || i, (ARRAY['success','failed','running'])[i % 3 + 1],
         '2026-11-01'::timestamptz + i * interval '1 hour', convert_to('{"n": ' || i || '}', 'UTF8')
  FROM generate_series(1, 400) i;
INSERT INTO task_instance
  SELECT r.dag_id, 'task_' || t, r.run_id, -1, (ARRAY['success','failed','up_for_retry'])[t % 3 + 1],
         t % 4, r.execution_date + t * interval '1 second', t * 1.5
  FROM dag_run r, generate_series(1, 12) t;
INSERT INTO xcom SELECT id, 'task_1', 'return_value', decode(md5(id::text), 'hex') FROM dag_run;
INSERT INTO serialized_dag SELECT dag_id, json_build_object('dag', dag_id, 'tasks', 12), md5(dag_id)
  FROM dag;
"""
MUTATE = """
DELETE FROM task_instance WHERE state = 'failed';
UPDATE dag SET is_paused = NOT is_paused;
INSERT INTO dag_run (dag_id, run_id, state) VALUES ('dag_1', 'manual__after', 'queued');
DELETE FROM xcom WHERE dag_run_id % 2 = 0;
UPDATE alembic_version SET version_num = 'ffffffffffff';
"""


def checksums(server: Postgres) -> dict[str, str]:
    """md5 of every table's rows (in a fixed order), and the row counts, and the sequence."""
    sums = {}
    for table in TABLES:
        sums[table] = run_psql_as(
            server,
            f"SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608 - the fixed TABLES
            f"FROM {table} t",
        )
    sums["dag_run_id_seq"] = run_psql_as(server, "SELECT last_value FROM dag_run_id_seq")
    return sums


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    """A PostgreSQL server of these tests alone (the tier's machinery, servers.postgres_server): the
    pods log in as the rendered role `airflow` to the database `airflow`, names other tests of the
    session server may use too."""
    with postgres_server() as own:
        yield own


@pytest.fixture
def database(server: Postgres) -> Iterator[Postgres]:
    """A fresh `airflow` database owned by `airflow`, with the tables above; dropped after."""
    postgres = server
    postgres.psql("DROP DATABASE IF EXISTS airflow WITH (FORCE)")
    postgres.psql("DROP ROLE IF EXISTS airflow")
    postgres.create_database("airflow", "airflow", PASSWORD)
    run_psql_as(postgres, SCHEMA)
    yield postgres
    postgres.psql("DROP DATABASE IF EXISTS airflow WITH (FORCE)")
    postgres.psql("DROP ROLE IF EXISTS airflow")


def only_backup(pods: BackupPods) -> str:
    run = pods.backup()
    assert run.returncode == 0, run.log
    (written,) = [line for line in run.log.splitlines() if line.startswith("backup written: ")]
    name = written.split()[2]
    assert (pods.backups / name).is_file() and not list(pods.backups.glob("*.partial"))
    return name


def backed_up_then_changed(database: Postgres, tmp_path: Path) -> tuple[BackupPods, str, dict[str, str]]:
    """A backup of the seeded tables, then changes to them; returns the checksums at backup time."""
    pods = BackupPods(database, tmp_path)
    before = checksums(database)
    backup = only_backup(pods)
    run_psql_as(database, MUTATE)
    assert checksums(database)["dag"] != before["dag"]
    return pods, backup, before


def safety_dumps(pods: BackupPods) -> list[str]:
    return sorted(p.name for p in pods.backups.glob("pre-restore-*.dump"))


def test_round_trip_restores_every_row_and_the_safety_dump_goes_back(
    database: Postgres, tmp_path: Path
) -> None:
    pods, backup, before = backed_up_then_changed(database, tmp_path)
    mutated = checksums(database)

    restored = pods.restore(backup)
    assert restored.returncode == 0, restored.log
    assert checksums(database) == before
    # The database as it was just before the restore is kept, and the printed way back works.
    (safety,) = safety_dumps(pods)
    assert f"to go back to the database as it was: gitops-tool backup restore {safety} --yes" in restored.log
    time.sleep(1.1)  # the next safety dump gets a name of its own (one-second stamp)
    back = pods.restore(safety)
    assert back.returncode == 0, back.log
    assert checksums(database) == mutated
    assert len(safety_dumps(pods)) == 2


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "empty", "random"])
def test_a_damaged_dump_leaves_the_database_unchanged(
    database: Postgres, tmp_path: Path, damage: str
) -> None:
    pods = BackupPods(database, tmp_path)
    good = (pods.backups / only_backup(pods)).read_bytes()
    run_psql_as(database, MUTATE)
    before = checksums(database)
    damaged = {
        "truncated": good[: len(good) * 2 // 3],
        "zeroed": good[:64] + bytes(len(good) - 64),
        "empty": b"",
        "random": os.urandom(len(good)),
    }[damage]
    (pods.backups / f"airflow-{damage}.dump").write_bytes(damaged)
    run = pods.restore(f"airflow-{damage}.dump")
    assert run.returncode != 0, run.log
    assert "restore failed:" in run.log and "restored:" not in run.log
    assert checksums(database) == before


def _open_transaction(server: Postgres, user: str, sql: str, name: str) -> subprocess.Popen[str]:
    """A client session (psql reading from a pipe) that runs ``sql`` in a transaction left open."""
    dsn = server.dsn("airflow", user, PASSWORD if user == "airflow" else None)
    client = subprocess.Popen(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PGAPPNAME": name, "PATH": f"{server.bin_dir}:{os.environ.get('PATH', '')}"},
    )
    assert client.stdin is not None
    client.stdin.write(f"BEGIN;\n{sql}\n")
    client.stdin.flush()
    deadline = time.monotonic() + 30
    while (
        server.psql(
            f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{name}' "  # noqa: S608 - test's own names
            "AND state = 'idle in transaction'"
        )
        != "1"
    ):
        assert client.poll() is None and time.monotonic() < deadline, (
            "the client did not open its transaction"
        )
        time.sleep(0.1)
    return client


def _close(client: subprocess.Popen[str]) -> None:
    if client.poll() is None:
        client.kill()
    client.communicate(timeout=30)


def test_a_restore_ends_a_client_holding_a_transaction_and_finishes_within_its_bound(
    database: Postgres, tmp_path: Path
) -> None:
    pods, backup, before = backed_up_then_changed(database, tmp_path)
    # A webserver-like reader and a worker-like writer, both as Airflow's role, both mid-transaction.
    reader = _open_transaction(
        database, "airflow", "SELECT count(*) FROM dag; SELECT * FROM task_instance LIMIT 1;", "webserver"
    )
    writer = _open_transaction(
        database, "airflow", "UPDATE dag_run SET state = 'running' WHERE id = 1;", "worker"
    )
    try:
        # The bound: the script's lock timeout (the default restore Job's, 30 s) is never reached.
        run = pods.restore(backup, timeout=90)
        assert run.returncode == 0, run.log
        assert "ended 2 other session(s) of database airflow" in run.log
        assert checksums(database) == before
        assert (
            database.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('webserver', 'worker')"
            )
            == "0"
        )
    finally:
        _close(reader)
        _close(writer)


def test_a_lock_it_may_not_end_fails_the_restore_at_its_lock_timeout_and_changes_nothing(
    database: Postgres, tmp_path: Path
) -> None:
    pods, backup, _ = backed_up_then_changed(database, tmp_path)
    before = checksums(database)
    # A superuser's session (not Airflow's role: the restore may not end it) reading a table.
    holder = _open_transaction(database, database.superuser, "SELECT count(*) FROM dag;", "admin")
    try:
        started = time.monotonic()
        run = pods.restore(backup, timeout=60, lock_timeout_s=2)
        waited = time.monotonic() - started
        assert run.returncode != 0, run.log
        assert "not allowed to end: 1" in run.log
        assert "waited longer than 2s for a lock" in run.log and "the database is as it was" in run.log
        assert waited < 60
        assert checksums(database) == before
        assert safety_dumps(pods), "the safety dump is written before the restore and kept"
    finally:
        _close(holder)


def _age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_retention_orders_by_time_keeps_the_new_dump_and_removes_stale_partial_files(
    database: Postgres, tmp_path: Path
) -> None:
    pods = BackupPods(database, tmp_path, retention=2)
    days = 86400.0
    aged = {
        "airflow-pre-upgrade.dump": 10 * days,  # sorts after every timestamp, oldest by time
        "airflow-20260101T000000Z.dump": 5 * days,
        "airflow-20991231T000000Z.dump": 3 * days,  # sorts first by name, newest old one by time
        "pre-restore-20260101T000000Z.dump": 20 * days,  # a restore's safety dump: kept
        "airflow-20261101T000000Z.dump.partial": 2 * 3600,  # a killed run's leftover
        "airflow-20261102T000000Z.dump.partial": 5,  # a run writing now
    }
    for name, age in aged.items():
        (pods.backups / name).write_bytes(b"x")
        _age(pods.backups / name, age)
    run = pods.backup()
    assert run.returncode == 0, run.log
    new = run.log.split("backup written: ", 1)[1].split()[0]
    assert sorted(p.name for p in pods.backups.iterdir()) == sorted(
        [
            new,
            "airflow-20991231T000000Z.dump",
            "pre-restore-20260101T000000Z.dump",
            "airflow-20261102T000000Z.dump.partial",
        ]
    )
    assert "removed old backup: airflow-pre-upgrade.dump" in run.log
    assert "removed stale partial file: airflow-20261101T000000Z.dump.partial" in run.log


def test_retention_one_keeps_the_backup_just_written(database: Postgres, tmp_path: Path) -> None:
    pods = BackupPods(database, tmp_path, retention=1)
    # Another dump whose time lies ahead of this run's (a clock set wrong, a copied file).
    ahead = pods.backups / "airflow-pre-upgrade.dump"
    ahead.write_bytes(b"x")
    _age(ahead, -3600)
    first = only_backup(pods)
    assert sorted(p.name for p in pods.backups.iterdir()) == [first]
    time.sleep(1.1)
    second = only_backup(pods)
    assert sorted(p.name for p in pods.backups.iterdir()) == [second]
    assert second != first
