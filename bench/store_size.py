"""Store size of the current database: the database folder of the local server, and how many vectors (and
floats) the graph holds, by property (APOC core 5 has no store statistics; apoc.monitor.* moved to APOC extended).

Run it after `kgrec demo` (or any pipeline run) to compare how vectors are stored. With the server running it
reads the database (NEO4J_URI / NEO4J_PASSWORD; reads only). The store files hold everything only after a
checkpoint, which Community edition runs on its own schedule and at shutdown, so the folder size is read with
``--folder-only`` after `kgrec db stop`:

    python bench/store_size.py --json before-db.json
    kgrec db stop && python bench/store_size.py --folder-only --neo4j-home .kgrec/neo4j --json before-folder.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import connect  # noqa: E402

VECTORS = [("Concept", "embedding"), ("Concept", "gnn_embedding"), ("Item", "gnn_embedding"), ("User", "gnn_embedding"),
           ("Concept", "gnn_prev_embedding"), ("Item", "gnn_prev_embedding"), ("User", "gnn_prev_embedding"),
           ("Item", "gnn_foldin"), ("Item", "gnn_prev_foldin"), ("User", "gnn_ego"), ("User", "gnn_prev_ego")]


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def used_bytes(path: Path, chunk: int = 1 << 20) -> int:
    """Offset of the last non-zero byte: how much of a store file holds records (files may be preallocated)."""
    with open(path, "rb") as f:
        pos = path.stat().st_size
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            data = f.read(pos - start).rstrip(b"\x00")
            if data:
                return start + len(data)
            pos = start
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neo4j-home", type=Path, default=None, help="the local server's home (for --folder-only)")
    ap.add_argument("--folder-only", action="store_true", help="only the database folder (server stopped)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    settings = load_settings()
    out: dict = {"loadavg": os.getloadavg()[0]}
    if a.folder_only:
        if not a.neo4j_home:
            raise SystemExit("--folder-only needs --neo4j-home")
        d = a.neo4j_home / "data" / "databases" / settings.neo4j_database
        out["database_folder_bytes"] = folder_bytes(d)
        out["files"] = {f.name: {"bytes": f.stat().st_size, "used": used_bytes(f)}
                        for f in sorted(d.iterdir()) if f.is_file() and f.name.startswith("neostore")}
        print(f"database folder {out['database_folder_bytes'] / (1 << 20):9.1f} MiB; store files used "
              f"{sum(v['used'] for v in out['files'].values()) / (1 << 20):.1f} MiB")
        for name, v in out["files"].items():
            if v["bytes"] > 1 << 20:
                print(f"  {name:<40} {v['bytes'] / (1 << 20):9.1f} MiB, used {v['used'] / (1 << 20):9.1f} MiB")
        if a.json:
            a.json.write_text(json.dumps(out, indent=1))
        return
    with connect(settings) as db:
        out["vectors"] = {}
        for label, prop in VECTORS:
            r = db.query(f"MATCH (n:{label}) WHERE n.{prop} IS NOT NULL RETURN count(n) AS n, "
                         f"sum(size(n.{prop})) AS floats")[0]
            out["vectors"][f"{label}.{prop}"] = r
        out["graph"] = db.query("CALL () { MATCH (n) RETURN count(n) AS nodes } "
                                "CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships } "
                                "RETURN nodes, relationships")[0]
    print(f"graph: {out['graph']['nodes']:,} nodes, {out['graph']['relationships']:,} relationships")
    for k, v in out["vectors"].items():
        if v["n"]:
            print(f"  {k:<28} {v['n']:>7,} vectors, {v['floats'] or 0:>10,} floats")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
