# shellcheck shell=sh
# Restore of the Airflow metadata DB from one backup file: `sh restore.sh /backups/FILE`, run by the
# Job that `gitops-tool backup restore FILE --yes` creates once it has stopped every Airflow deployment
# that uses the database. Connection from PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD.
# Each step stops the script on failure, and the database is then as it was:
#   1. the file must be a readable pg_dump archive with table data (pg_restore --list);
#   2. every other session of the database is ended (pg_terminate_backend): clients still connected
#      would hold locks the restore needs;
#   3. a safety dump of the current database is written and kept (pre-restore-TIME.dump; retention
#      never removes it); going back is `gitops-tool backup restore pre-restore-TIME.dump --yes`;
#   4. pg_restore replaces the tables in one transaction whose lock waits are bounded by
#      RESTORE_LOCK_TIMEOUT (default 30s): a client that reconnected and holds a lock makes the
#      restore fail and roll back instead of waiting until the Job deadline. pg_restore sets
#      lock_timeout = 0 in its own session (the archive's fixed settings), so the bound is kept from
#      outside: a watchdog cancels the restore's statement once it has waited that long for a lock.
set -eu
dir=/backups
file="${1:?usage: restore.sh /backups/FILE}"
lock_timeout="${RESTORE_LOCK_TIMEOUT:-30s}"
name="$(basename "${file}")"
case "${lock_timeout}" in
  '' | *[!0-9a-z]*) echo "RESTORE_LOCK_TIMEOUT must look like 30s or 2min, not '${lock_timeout}'" >&2; exit 2 ;;
esac

if [ ! -f "${file}" ]; then
  echo "restore failed: no backup ${name} on the volume; nothing was changed" >&2
  exit 2
fi
if ! contents="$(pg_restore --list "${file}")"; then
  echo "restore failed: ${name} is not a readable pg_dump archive; nothing was changed" >&2
  exit 1
fi
# A damaged archive can still have a readable header and an empty table of contents: restoring it
# would "succeed" and change nothing.
case "${contents}" in
  *" TABLE DATA "*) ;;
  *) echo "restore failed: ${name} holds no table data (damaged or not a dump of the metadata DB); nothing was changed" >&2
     exit 1 ;;
esac

# Ends the other sessions of this database that this role may signal (its own role's, or every one
# with pg_signal_backend; a superuser's only when this role is one), waiting up to 10 s for each.
# Background processes (autovacuum) have no role and are left alone.
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
echo "to go back to the database as it was: gitops-tool backup restore $(basename "${safety}") --yes"

# Sessions opened while the safety dump ran.
end_sessions
app="gitops-tool-restore-$$"
PGAPPNAME="${app}" pg_restore --clean --if-exists --no-owner --exit-on-error --single-transaction \
  --dbname="${PGDATABASE}" "${file}" &
restore_pid=$!
while kill -0 "${restore_pid}" 2> /dev/null; do
  sleep 1
  cancelled="$(PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=10s" psql -X -q -At -c "
    SELECT count(*) FILTER (WHERE pg_cancel_backend(a.pid))
    FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
    WHERE a.application_name = '${app}' AND NOT l.granted
      AND l.waitstart < clock_timestamp() - interval '${lock_timeout}'" || true)"
  if [ -n "${cancelled}" ] && [ "${cancelled}" != 0 ]; then
    echo "restore cancelled: it waited longer than ${lock_timeout} for a lock another session holds" >&2
  fi
done
if ! wait "${restore_pid}"; then
  echo "restore failed: the database is as it was (one transaction); safety dump kept: $(basename "${safety}")" >&2
  exit 1
fi
echo "restored: ${name}"
