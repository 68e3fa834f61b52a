#!/usr/bin/env bash
# Run the whole test suite. With DATABASE_URL and REDIS_URL set, it runs against PostgreSQL and
# Redis and includes the scale-out tests. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."

# System tools the suite drives: Debian's chromium for the dashboard's end-to-end tests (never a
# downloaded browser) and poppler-utils (pdftotext, pdftoppm) to read and render report PDFs.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]} for the test suite..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || { echo "could not install ${missing[*]}" >&2; exit 1; }
  else
    echo "the test suite needs: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# On SQLite the suite runs in two processes (pytest-xdist; TEST_WORKERS=0 runs it in one): each has
# its own test database file, temporary folders and live-server port, and gets whole files, so a
# file's tests keep their order and shared resources (run.sh's port). The PostgreSQL + Redis pass
# stays in one process: its scale-out tests share one Redis database.
parallel=()
if [ -z "${DATABASE_URL:-}" ] && [ "${TEST_WORKERS:-2}" != 0 ]; then
  parallel=(-n "${TEST_WORKERS:-2}" --dist loadfile)
fi
.venv/bin/python -m pytest "${parallel[@]}" "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as a failure" >&2
  exit 1
fi
exit "$status"
