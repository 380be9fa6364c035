#!/usr/bin/env bash
# The main job on the embedded defaults: install, start the local Neo4j, run the pipeline (`kgrec demo`).
# Needs NEO4J_PASSWORD (at least 8 characters; set on the first start of the local server).
# Ports: Bolt from NEO4J_URI (default bolt://127.0.0.1:7687), HTTP/Browser from KGREC_DB_HTTP_PORT (default 7474).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NEO4J_PASSWORD:?set NEO4J_PASSWORD, e.g. NEO4J_PASSWORD=choose-a-password bash tools/demo.sh}"
bash tools/setup.sh
.venv/bin/kgrec db start
.venv/bin/kgrec demo "$@"
