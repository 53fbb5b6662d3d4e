"""The real tier's PostgreSQL fixture serves SQL on loopback with password logins."""

from __future__ import annotations

from tests.real.servers import Postgres


def test_server_answers_and_checks_passwords(postgres: Postgres) -> None:
    postgres.create_database("probe", "probe_owner", "s3cret")
    assert postgres.psql("SELECT current_database()", database="probe") == "probe"
    assert postgres.psql("SHOW listen_addresses") == "127.0.0.1"
    assert int(postgres.psql("SHOW server_version_num")) >= 150000
