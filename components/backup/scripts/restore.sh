# Restore of the Airflow metadata DB from one backup file: `sh restore.sh /backups/FILE`, run by the
# Job that `gitops-tool restore FILE --yes` creates once it has stopped every Airflow deployment
# that uses the database. Connection from PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD.
# Each step stops the script on failure, and the database is then as it was:
#   1. the file must be a readable pg_dump archive (pg_restore --list);
#   2. every other session of the database is ended (pg_terminate_backend): clients still connected
#      would hold locks the restore needs;
#   3. a safety dump of the current database is written and kept (pre-restore-TIME.dump; retention
#      never removes it); going back is `gitops-tool restore pre-restore-TIME.dump --yes`;
#   4. pg_restore replaces the tables in one transaction whose lock waits are bounded by
#      RESTORE_LOCK_TIMEOUT (default 30s): a client that reconnected and holds a lock makes the
#      restore fail and roll back instead of waiting until the Job deadline.
set -eu
dir=/backups
file="${1:?usage: restore.sh /backups/FILE}"
lock_timeout="${RESTORE_LOCK_TIMEOUT:-30s}"
name="$(basename "${file}")"

if [ ! -f "${file}" ]; then
  echo "restore failed: no backup ${name} on the volume; nothing was changed" >&2
  exit 2
fi
if ! pg_restore --list "${file}" > /dev/null; then
  echo "restore failed: ${name} is not a readable pg_dump archive; nothing was changed" >&2
  exit 1
fi

# Ends the other sessions of this database that this role may signal (its own role's, or every one
# with pg_signal_backend; a superuser's only when this role is one), waiting up to 10 s for each.
end_sessions() {
  PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=60s" psql -X -q -At -v ON_ERROR_STOP=1 -c "
    SELECT 'ended ' || count(*) FILTER (WHERE ended) || ' other session(s) of database '
           || current_database() || '; not allowed to end: ' || count(*) FILTER (WHERE ended IS NULL)
    FROM (
      SELECT CASE
               WHEN (pg_has_role(a.usesysid, 'USAGE') OR pg_has_role('pg_signal_backend', 'USAGE'))
                    AND (NOT r.rolsuper OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))
               THEN pg_terminate_backend(a.pid, 10000)
             END AS ended
      FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
      WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
        AND a.backend_type = 'client backend'
    ) s"
}
end_sessions

safety="${dir}/pre-restore-$(date -u +%Y%m%dT%H%M%SZ).dump"
trap 'rm -f "${safety}.partial"' EXIT
if ! pg_dump --format=custom --no-owner --lock-wait-timeout="${lock_timeout}" --file="${safety}.partial"; then
  echo "restore failed: the safety dump of the current database could not be written; nothing was changed" >&2
  exit 1
fi
mv "${safety}.partial" "${safety}"
echo "safety dump written: $(basename "${safety}") $(stat -c %s "${safety}") bytes"
echo "to go back to the database as it was: gitops-tool restore $(basename "${safety}") --yes"

# Sessions opened while the safety dump ran.
end_sessions
if ! PGOPTIONS="${PGOPTIONS:-} -c lock_timeout=${lock_timeout}" pg_restore --clean --if-exists --no-owner \
  --exit-on-error --single-transaction --dbname="${PGDATABASE}" "${file}"; then
  echo "restore failed: the database is as it was (one transaction); safety dump kept: $(basename "${safety}")" >&2
  exit 1
fi
echo "restored: ${name}"
