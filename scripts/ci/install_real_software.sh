#!/usr/bin/env bash
# Installs the real software the `real` test tier runs: PostgreSQL and promtool from Debian, and each
# pinned Airflow release in a virtualenv of its own under the user's cache (kept between runs: a venv
# is rebuilt only when its requirements file changes). Idempotent; safe to run on every CI run.
#
#   scripts/ci/install_real_software.sh            # everything
#   GITOPS_TOOL_REAL_SKIP_APT=1 scripts/ci/...     # venvs only (no root)
set -euo pipefail
cd "$(dirname "$0")/../.."
cache="${GITOPS_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-tool}"
mkdir -p "$cache"

if [ -z "${GITOPS_TOOL_REAL_SKIP_APT:-}" ]; then
  need=()
  command -v promtool >/dev/null || need+=(prometheus)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # Their service scripts may be denied (policy-rc.d) or start a system server: the tests start their own.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# One venv per requirements file tests/real/requirements-airflow-*.txt (a full pip freeze, so the
# install is reproducible and needs no resolver run); a stamp holds the file's hash.
for req in tests/real/requirements-airflow-*.txt; do
  [ -e "$req" ] || continue
  version="${req##*requirements-airflow-}"; version="${version%.txt}"
  venv="$cache/airflow-$version"
  stamp="$venv/.requirements.sha256"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/airflow" ]; then
    continue
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps -r "$req"
  echo "$want" > "$stamp"
done
