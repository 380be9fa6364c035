"""Cold-process CLI times: ``kgrec recommend``, ``explain`` and ``report`` each as a new process, as a person runs them.

On the graph NEO4J_URI points at (a current, servable run): for ``--users`` users (median history length of the
graph unless ``--user`` is given), each command is run ``--repeat`` times as a fresh process; medians and maxima
are printed next to the baseline measured in the same run: ``kgrec --help`` (process start and imports, the
floor of any command) and an unknown user (rejected before anything is loaded).

Example::

    NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=... python bench/cli_cold.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(args: list[str], *, expect: int = 0) -> float:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "kgrec_neo4j.cli", *args], cwd=REPO, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != expect:
        raise RuntimeError(f"kgrec {' '.join(args)} exited {p.returncode}: {(p.stdout + p.stderr)[-1500:]}")
    return dt


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--user", default=None)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect

    with connect(load_settings()) as db:
        user = a.user or db.value(
            "MATCH (u:User)-[x:INTERACTED]->() WITH u, count(x) AS n ORDER BY n, u.id "
            "WITH collect([u.id, n]) AS us RETURN us[size(us) / 2][0]")
        history = db.value("MATCH (:User {id: $u})-[x:INTERACTED]->() RETURN count(x)", u=user)
    timed(["recommend", "--user", user, "--no-store"])  # warm the OS file cache once
    item = json.loads(subprocess.run([sys.executable, "-m", "kgrec_neo4j.cli", "recommend", "--user", user,
                                      "--no-store", "--json", "-k", "1"], cwd=REPO, capture_output=True,
                                     text=True, check=True).stdout)["items"][0]["item"]
    with tempfile.TemporaryDirectory() as tmp:
        cmds = {
            "baseline: kgrec --help": (["--help"], 0),
            "baseline: unknown user rejected": (["recommend", "--user", "no-such-user-x"], 1),
            "recommend": (["recommend", "--user", user, "--no-store"], 0),
            "recommend --explain": (["recommend", "--user", user, "--no-store", "--explain"], 0),
            "explain": (["explain", "--user", user, "--item", item], 0),
            "report": (["report", "--user", user, "--no-store", "--out", str(Path(tmp) / "r.html")], 0),
        }
        res: dict = {"user": user, "history": history, "repeat": a.repeat, "load_average_start": os.getloadavg(),
                     "seconds": {}}
        for name, (args, rc) in cmds.items():
            ts = [timed(args, expect=rc) for _ in range(a.repeat)]
            res["seconds"][name] = {"median": round(statistics.median(ts), 2), "max": round(max(ts), 2)}
    floor = res["seconds"]["baseline: kgrec --help"]["median"]
    res["over_process_start_s"] = {k: round(v["median"] - floor, 2) for k, v in res["seconds"].items()}
    res["load_average_end"] = os.getloadavg()
    text = json.dumps(res, indent=2)
    print(text)
    if a.out:
        a.out.write_text(text)
    return res


if __name__ == "__main__":
    main()
