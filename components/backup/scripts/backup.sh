# shellcheck shell=sh
# Backup of the Airflow metadata DB, run by the CronJob airflow-db-backup (and `gitops-tool backup now`):
# pg_dump in custom format (restorable with pg_restore) onto the NFS volume, then retention.
# Connection from PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD; BACKUP_KEEP dumps are kept.
set -eu
dir=/backups
case "${BACKUP_KEEP:-}" in
  '' | *[!0-9]*) echo "BACKUP_KEEP must be a whole number of at least 1, not '${BACKUP_KEEP:-}'" >&2; exit 2 ;;
esac
if [ "${BACKUP_KEEP}" -lt 1 ]; then
  echo "BACKUP_KEEP must be at least 1 (the backup just written is always kept)" >&2
  exit 2
fi

# Leftovers of runs killed before their rename (pod deleted, node lost, Job deadline): a running
# pg_dump writes its .partial file all the time, so one untouched for over an hour is dead (the
# Job deadline is 3600 s).
find "${dir}" -maxdepth 1 -type f -name '*.partial' -mmin +60 | while IFS= read -r stale; do
  rm -f -- "${stale}"
  echo "removed stale partial file: $(basename "${stale}")"
done

# Written under a temporary name and renamed when complete, so a listed backup is always whole.
file="${dir}/airflow-$(date -u +%Y%m%dT%H%M%SZ).dump"
trap 'rm -f "${file}.partial"' EXIT
pg_dump --format=custom --no-owner --lock-wait-timeout="${BACKUP_LOCK_WAIT_TIMEOUT:-10min}" \
  --file="${file}.partial"
mv "${file}.partial" "${file}"
echo "backup written: $(basename "${file}") $(stat -c %s "${file}") bytes"

# Retention by the backups' time (modification time, newest first), not by their names: a dump
# with any name (airflow-pre-upgrade.dump) ages like the others. The file just written counts as
# the first one kept and is never a candidate, whatever the clock of the other files says.
# Safety dumps of restores (pre-restore-*.dump) are not airflow-*.dump: they stay until removed.
kept=1
# shellcheck disable=SC2012 # ls -t is POSIX sh's sort by time; dump names have no newlines
ls -1t -- "${dir}"/airflow-*.dump | while IFS= read -r old; do
  if [ "${old}" = "${file}" ]; then
    continue
  fi
  kept=$((kept + 1))
  if [ "${kept}" -gt "${BACKUP_KEEP}" ]; then
    rm -f -- "${old}"
    echo "removed old backup: $(basename "${old}")"
  fi
done
