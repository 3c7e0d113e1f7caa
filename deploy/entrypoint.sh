#!/bin/sh
# The container's entrypoint: `abdi` with its arguments, after two optional steps.
#
#   entrypoint.sh migrate          wait for the database, apply migrations, exit with their code
#   ABDI_MIGRATE=1 entrypoint.sh serve
#                                  the same first, then `abdi serve`
#   ABDI_WAIT_FOR_DB=1 entrypoint.sh worker
#                                  wait for the database, then `abdi worker`
#
# The wait is bounded (ABDI_DB_WAIT_TRIES tries, ABDI_DB_WAIT_SECONDS apart) so a database that
# never comes up ends the container with a clear line instead of a restart loop of tracebacks.
# `exec` hands the process over, so SIGTERM from Docker or systemd reaches abdi itself.
set -eu

tries="${ABDI_DB_WAIT_TRIES:-30}"
pause="${ABDI_DB_WAIT_SECONDS:-2}"

log() {
  echo "abdi-entrypoint: $*" >&2
}

# Exit 0 when the database's host accepts a TCP connection (or the database is a local file).
# DATABASE_URL comes from the environment or, like every setting, from a file in SECRETS_DIR.
database_answers() {
  python3 - <<'PY'
import os, socket, sys
from pathlib import Path
from urllib.parse import urlsplit

secret = Path(os.environ.get("SECRETS_DIR") or "/run/secrets") / "database_url"
configured = os.environ.get("DATABASE_URL") or (secret.read_text().strip() if secret.is_file() else "")
url = urlsplit(configured or "sqlite:///")
if url.scheme.startswith("sqlite"):
    sys.exit(0)
try:
    socket.create_connection((url.hostname or "localhost", url.port or 5432), timeout=3).close()
except OSError:
    sys.exit(1)
PY
}

wait_for_database() {
  n=1
  until database_answers; do
    if [ "$n" -ge "$tries" ]; then
      log "the database did not answer after $tries tries; check DATABASE_URL and that it runs"
      exit 69  # EX_UNAVAILABLE
    fi
    log "waiting for the database ($n/$tries)"
    n=$((n + 1))
    sleep "$pause"
  done
}

case "${1:-}" in
  migrate)
    wait_for_database
    log "applying migrations"
    exec abdi db upgrade
    ;;
esac
if [ "${ABDI_MIGRATE:-0}" = "1" ]; then
  wait_for_database
  log "applying migrations"
  abdi db upgrade
elif [ "${ABDI_WAIT_FOR_DB:-0}" = "1" ]; then
  wait_for_database
fi
exec abdi "$@"
