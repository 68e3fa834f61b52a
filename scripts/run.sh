#!/usr/bin/env bash
# Start hyperweb in the foreground: web server on 127.0.0.1:8080 and the django-q2 worker cluster.
# Ctrl-C stops both. Running it again keeps all data (it lives in $HYPERWEB_DATA_DIR, default var/).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HYPERWEB_HOST:-127.0.0.1}
PORT=${HYPERWEB_PORT:-8080}

$PY manage.py migrate --noinput
$PY manage.py bootstrap
# Static files under content-hashed names with .gz/.br copies (served with a year's caching).
echo "collecting static files..."
$PY manage.py collectstatic --noinput -v0

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping hyperweb..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # Give the web server and the cluster 15 s to finish what they are doing, then make sure.
  for _ in $(seq 30); do
    kill -0 "${pids[@]}" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

.venv/bin/gunicorn hyperweb.wsgi --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-2}" --threads 4 \
  --access-logfile - --log-level warning &
pids+=($!)
$PY manage.py qcluster &
pids+=($!)
echo
echo "hyperweb is running on http://$HOST:$PORT/ with its workers (Ctrl-C stops both)."
echo "Log in as ${DJANGO_SUPERUSER_USERNAME:-admin} with the password printed above when the account was created."
echo "API: http://$HOST:$PORT/docs   Django admin: http://$HOST:$PORT/admin/"
echo
# Stop everything as soon as either process ends.
wait -n "${pids[@]}"
