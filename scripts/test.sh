#!/usr/bin/env bash
# Run the whole test suite. With DATABASE_URL and REDIS_URL set, it runs against PostgreSQL and
# Redis and includes the scale-out tests. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."

# The dashboard's end-to-end tests drive Debian's chromium (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || { echo "could not install chromium" >&2; exit 1; }
  else
    echo "the browser tests need /usr/bin/chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi

.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as a failure" >&2
  exit 1
fi
exit "$status"
