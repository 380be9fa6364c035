#!/usr/bin/env bash
# Lint and type check (run by .ci/run before the tests): ruff over the repository, mypy over the package.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
.venv/bin/ruff check . || status=1
.venv/bin/mypy || status=1
exit $status
