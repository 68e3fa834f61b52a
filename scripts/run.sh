#!/usr/bin/env bash
# Start hyperweb in the foreground: web server on 127.0.0.1:8080 and the django-q2 worker cluster.
# Ctrl-C stops both. Running it again keeps all data (it lives in $HYPERWEB_DATA_DIR, default var/).
#
# Stopping: the web server and the cluster each run in their own process group; Ctrl-C (or a
# SIGTERM to this script) asks both to stop, kills whatever is left of their groups after
# STOP_GRACE_SECONDS (a gunicorn worker stuck in a request, say), and returns only once no process
# of either group is left and the port is free. The banner is printed once /health answers.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HYPERWEB_HOST:-127.0.0.1}
PORT=${HYPERWEB_PORT:-8080}
GRACE=${STOP_GRACE_SECONDS:-8}

# True when something accepts connections on HOST:PORT.
listening() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

if listening; then
  echo "hyperweb: $HOST:$PORT is already in use (another hyperweb still running?); not starting." >&2
  exit 1
fi

$PY manage.py migrate --noinput
$PY manage.py bootstrap
# Static files under content-hashed names with .gz/.br copies (served with immutable caching).
echo "collecting static files..."
$PY manage.py collectstatic --noinput -v0

pids=()
# Is any process of our groups (the web server's, the cluster's) still there?
groups_alive() {
  local pid
  for pid in "${pids[@]}"; do
    kill -0 -- "-$pid" 2>/dev/null && return 0
  done
  return 1
}
stop() {
  local status=$?
  trap - INT TERM EXIT
  [ ${#pids[@]} -eq 0 ] && exit "$status"
  echo "stopping hyperweb..."
  local pid
  # To each group's leader, which stops its own processes in order: gunicorn finishes its requests
  # (--graceful-timeout) and the cluster its grace (Q_STOP_GRACE_SECONDS), then both exit.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  local deadline=$((SECONDS + GRACE))
  while groups_alive && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  if groups_alive; then
    echo "still running after ${GRACE} s: killing what is left"
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  fi
  wait "${pids[@]}" 2>/dev/null || true
  deadline=$((SECONDS + 5))
  while groups_alive && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  deadline=$((SECONDS + 10))
  while listening && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  if listening; then
    echo "hyperweb stopped, but $HOST:$PORT is still in use by another process" >&2
    exit 1
  fi
  echo "hyperweb stopped; $HOST:$PORT is free."
  exit "$status"
}
trap stop INT TERM EXIT

# setsid: each in its own process group (its pid is the group id), so that stopping reaches every
# worker process, and a Ctrl-C in the terminal goes to this script, which stops them in order.
setsid .venv/bin/gunicorn hyperweb.wsgi --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-2}" --threads 4 \
  --graceful-timeout 5 --access-logfile - --log-level warning &
pids+=($!)
setsid $PY manage.py qcluster &
pids+=($!)

# The banner only once the web server answers (it may fail to bind, or take a while to import).
until $PY - "$HOST" "$PORT" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/health", timeout=2).read()
EOF
do
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "hyperweb: the web server exited before answering /health (see above)." >&2
    exit 1
  fi
  sleep 0.2
done
echo
echo "hyperweb is running on http://$HOST:$PORT/ with its workers (Ctrl-C stops both)."
echo "Log in as ${DJANGO_SUPERUSER_USERNAME:-admin} with the password printed above when the account was created."
echo "API: http://$HOST:$PORT/docs   Django admin: http://$HOST:$PORT/admin/"
echo
# Stop everything as soon as either process ends.
wait -n "${pids[@]}"
