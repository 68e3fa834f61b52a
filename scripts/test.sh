#!/usr/bin/env bash
# Run the whole test suite. With DATABASE_URL and REDIS_URL set, it runs against PostgreSQL and
# Redis and includes the scale-out tests. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: treating as a failure" >&2
  exit 1
fi
exit "$status"
