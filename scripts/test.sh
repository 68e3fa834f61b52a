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

.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as a failure" >&2
  exit 1
fi
exit "$status"
