#!/usr/bin/env bash
# Log retention for the airflow-logs volume: removes files last modified more than
# LOG_RETENTION_DAYS days ago under LOGS_DIR, then the folders left empty (never LOGS_DIR itself,
# never lost+found). Files being written are recent, so they stay. Stays on LOGS_DIR's filesystem and
# never follows symbolic links. Prints what it removed; exits non-zero on a bad setting or when a
# removal fails.
set -euo pipefail

days="${LOG_RETENTION_DAYS:-}"
root="${LOGS_DIR:-/opt/airflow/logs}"

case "$days" in
  '' | *[!0-9]*)
    echo "LOG_RETENTION_DAYS must be a whole number of days, not '${days}'" >&2
    exit 2
    ;;
esac
days=$((10#$days))
if [ "$days" -lt 1 ]; then
  echo "LOG_RETENTION_DAYS must be at least 1, not ${days}" >&2
  exit 2
fi
if [ ! -d "$root" ]; then
  echo "no logs folder ${root}" >&2
  exit 1
fi

# -mmin counts whole minutes: "older than N days" exactly, where -mtime +N would mean N+1 days.
minutes=$((days * 24 * 60))
# (-delete implies -depth, where -prune does nothing: lost+found is excluded by path instead.)
keep=(-not -path "$root/lost+found" -not -path "$root/lost+found/*")
files=$(find "$root" -xdev "${keep[@]}" -type f -mmin "+${minutes}" -print -delete | wc -l)
# Depth-first: nested empty folders go bottom-up in one pass.
folders=$(find "$root" -xdev -mindepth 1 "${keep[@]}" -type d -empty -print -delete | wc -l)
echo "log retention: removed ${files} file(s) older than ${days} day(s) and ${folders} empty folder(s) under ${root}"
