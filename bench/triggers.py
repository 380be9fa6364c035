"""Benchmark: what the database-side type triggers (schema/triggers/, APOC, phase `before`) cost the project's writes.

The same write stages run with the triggers dropped and installed, alternating (off, on, off, on, ... ``--rounds``
times), each from an empty database, in one run, and the ratio on/off is printed per stage:

* ``load``      the Video Games loader (users, items, INTERACTED: untyped writes, the trigger only filters),
* ``mentions``  the typed mentions of every title (``concepts/seed_mentions``, what the extract stage writes),
* ``project``   vocabulary build on a 5 % sample and projection of all mentions (Concept, CANONICAL, HAS_KNOWLEDGE),
* ``interests`` offline interests of every user (INTERESTED_IN),
* ``clear``     emptying the database of the previous round (deletes in batches of 50,000).

The embedding cache is warmed before the first timed round, so every round embeds nothing. Needs a running Neo4j
with APOC triggers enabled (the local server); it EMPTIES the database. Wall time depends on the machine's load,
so the load average is printed with every round, and with ``--neo4j-home`` (the local server's home) the CPU
seconds the Neo4j server spent on each stage are measured too: on a shared machine they are the comparable number.

    python bench/triggers.py [--data ../shared/data/amazon-videogames-2018] [--users 10000] [--rounds 2]
                             [--neo4j-home .kgrec/neo4j]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kgrec_neo4j import load as L  # noqa: E402
from kgrec_neo4j.concepts.build import build_vocabulary  # noqa: E402
from kgrec_neo4j.concepts.project import project_mentions  # noqa: E402
from kgrec_neo4j.concepts.title_mentions import read_items, title_mentions, write_mentions  # noqa: E402
from kgrec_neo4j.core import schema  # noqa: E402
from kgrec_neo4j.core.config import load_settings  # noqa: E402
from kgrec_neo4j.core.db import clear_database, connect  # noqa: E402
from kgrec_neo4j.core.embed import get_embedder  # noqa: E402
from kgrec_neo4j.users.interests.offline import extract_offline  # noqa: E402

STAGES = ("load", "mentions", "project", "interests", "clear")


def set_triggers(db, on: bool) -> None:
    if on:
        rep = schema.install_triggers(db, wait_s=120)
        if rep["unavailable"] or not rep["active"]:
            raise SystemExit(f"the triggers are not active: {rep}")
    else:
        for name in schema.installed_triggers(db):
            schema._system(db, "CALL apoc.trigger.drop($database, $name) YIELD name RETURN name", database=db.database, name=name)
        deadline = time.monotonic() + 120
        while schema.active_triggers(db):
            if time.monotonic() > deadline:
                raise SystemExit("the dropped triggers are still active after 120 s")
            time.sleep(0.25)


class Timer:
    """Wall seconds and, when the server's process is known, its CPU seconds, per stage."""

    def __init__(self, server: psutil.Process | None):
        self.server, self.out = server, {}

    def _cpu(self) -> float:
        if self.server is None:
            return 0.0
        t = self.server.cpu_times()
        return t.user + t.system

    def run(self, stage: str, fn) -> None:
        c0, t0 = self._cpu(), time.perf_counter()
        fn()
        self.out[stage] = time.perf_counter() - t0
        if self.server is not None:
            self.out[f"{stage}_cpu"] = self._cpu() - c0


def one_round(db, settings, pack, data: Path, users: int | None, items: list[dict], embedder,
              on: bool, server: psutil.Process | None = None) -> dict[str, float]:
    tm = Timer(server)
    tm.run("clear", lambda: clear_database(db))
    schema.apply(db, pack, dim=settings.embedding_dim, triggers=on)  # the types back; the triggers as set
    tm.run("load", lambda: L.load(db, [data], max_users=users, seed=settings.seed, batch_size=settings.batch_size))
    loaded = {r["id"] for r in db.query("MATCH (i:Item) RETURN i.id AS id")}
    ms = title_mentions([it for it in items if it["item_id"] in loaded], domain="video_games")
    tm.run("mentions", lambda: write_mentions(db, ms))
    tm.run("project", lambda: (build_vocabulary(db, embedder, pack, fraction=0.05, seed=settings.seed),
                               project_mentions(db, embedder, pack)))
    tm.run("interests", lambda: extract_offline(db))
    tm.out["written"] = db.value("MATCH (n) RETURN count(n) + COUNT { ()-[]->() }")
    return tm.out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared/data/amazon-videogames-2018")
    ap.add_argument("--users", type=int, default=None, help="a seeded sample of users (default: all)")
    ap.add_argument("--rounds", type=int, default=2, help="pairs of (off, on) rounds")
    ap.add_argument("--neo4j-home", type=Path, default=None, help="the local server's home, for its CPU time")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    settings = load_settings()
    server = None
    if a.neo4j_home:
        from kgrec_neo4j.local import neo4j_server

        server = psutil.Process(int(neo4j_server.status(a.neo4j_home).pid or 0))
    db = connect(settings)
    pack = schema.load_pack("video_games")
    embedder = get_embedder(settings)
    items = [it for it in read_items(a.data / "items.jsonl.gz") if it.get("title")]

    # warm-up (untimed): fills the embedding cache so that no timed round embeds
    set_triggers(db, False)
    one_round(db, settings, pack, a.data, a.users, items, embedder, False)

    rounds = []
    for k in range(2 * a.rounds):
        on = k % 2 == 1
        set_triggers(db, on)
        r = one_round(db, settings, pack, a.data, a.users, items, embedder, on, server)
        r |= {"triggers": on, "loadavg": os.getloadavg()[0]}
        rounds.append(r)
        print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
    set_triggers(db, True)
    clear_database(db)
    schema.apply(db, pack, dim=settings.embedding_dim)

    def total(stage: str, on: bool) -> float:
        return sum(r[stage] for r in rounds if r["triggers"] == on)

    cols = ["", "_cpu"] if server is not None else [""]
    print(f"{'stage':<10} " + " ".join(f"{'off ' + k:>11} {'on ' + k:>11} {'on/off':>7}" for k in ("s", "cpu s")[:len(cols)])
          + f"   ({a.rounds} round(s) each, users={a.users or 'all'})")
    for st in (*STAGES, "all"):
        cells = []
        for c in cols:
            names = STAGES if st == "all" else (st,)
            off, on = (sum(total(n + c, flag) for n in names) for flag in (False, True))
            cells.append(f"{off:11.1f} {on:11.1f} {on / off:7.3f}")
        print(f"{st:<10} " + " ".join(cells))
    if a.json:
        a.json.write_text(json.dumps(rounds, indent=1))
    db.close()


if __name__ == "__main__":
    main()
