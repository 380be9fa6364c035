#!/usr/bin/env bash
# The test command: install (idempotent), start a throw-away Neo4j for the tests, run pytest, stop Neo4j.
# The test server has its own folder (.kgrec-test) and port (7688), so tests never touch your data.
# Extra arguments go to pytest, e.g. `bash tools/test.sh -k load`.
set -uo pipefail
cd "$(dirname "$0")/.."
export KGREC_HOME="$PWD/.kgrec-test"
bash tools/setup.sh || exit 1
export NEO4J_URI="bolt://127.0.0.1:${KGREC_TEST_BOLT_PORT:-7688}"
# a fresh random password each run: the test database is re-created, no password is stored anywhere
export NEO4J_PASSWORD="t-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(12))')"
.venv/bin/kgrec db stop >/dev/null 2>&1 || true
rm -rf "$KGREC_HOME/neo4j/data" "$KGREC_HOME/cache"
cleanup() { .venv/bin/kgrec db stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
.venv/bin/kgrec db start --http-port "${KGREC_TEST_HTTP_PORT:-7475}" || exit 1
.venv/bin/python -m pytest "$@"
