"""Agreement of the review-text classifiers with the star rating (Amazon Video Games 2018, 20,161 rated reviews).

Labels: rating ≥4 like, 3 mixed, ≤2 dislike (``kgrec_neo4j.users.interactions.KindScheme`` defaults). The text
(review title + body) alone is classified and compared with that label: accuracy and macro-F1 over the three
labels. Reviews are split by a hash of (user, seq) into a dev part (``--dev-share``, default 30 %) and a
disjoint test part; thresholds or a trained model may only be chosen on dev, and numbers are reported on test
(and on all, for the classifiers that were not tuned on this data). "no star title" is the subset whose title
is not one of Amazon's generated "Five Stars" / "One Star" ... titles (17 % of the rated reviews).

Classifiers: ``lexicon``, ``prototype`` (embedding prototypes), ``logreg`` (logistic regression on MiniLM
embeddings, trained on the dev part only) and ``llm`` (a seeded sample of ``--llm-sample`` test reviews through
the configured endpoint; ``--serve`` starts the bundled SmolLM2-135M server first — a plumbing model).

Run::

    python bench/classify_agreement.py --classifiers lexicon,prototype,logreg
    python bench/classify_agreement.py --classifiers llm --serve --llm-sample 200
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kgrec_neo4j.users.interactions import (  # noqa: E402
    LexiconClassifier,
    LLMTextClassifier,
    PrototypeClassifier,
    Review,
    agreement,
    rating_label,
)

STAR_TITLE = re.compile(r"^\s*(one|two|three|four|five) stars?\s*$", re.I)


def read_rated(path: Path) -> list[dict]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            o = json.loads(line)
            if o.get("rating") is None:
                continue
            if not (o.get("review_text") or "").strip() and not (o.get("review_title") or "").strip():
                continue
            out.append(o)
    return out


def is_dev(o: dict, share: float) -> bool:
    h = int(hashlib.sha1(f"{o['user_id']}:{o['seq']}".encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < share


def report(name: str, rows: list[dict], pred: list, part: str) -> dict:
    true = [rating_label(r["rating"]) for r in rows]
    a = agreement(true, pred)
    keep = [i for i, r in enumerate(rows) if not STAR_TITLE.match(r.get("review_title") or "")]
    b = agreement([true[i] for i in keep], [pred[i] for i in keep])
    line = {"classifier": name, "part": part, "n": a.n, "accuracy": a.accuracy, "macro_f1": a.macro_f1,
            "per_label_f1": a.per_label_f1, "failed": a.failed,
            "no_star_title": {"n": b.n, "accuracy": b.accuracy, "macro_f1": b.macro_f1}}
    print(json.dumps(line), flush=True)
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared/data/amazon-videogames-2018/interactions.jsonl.gz"))
    ap.add_argument("--classifiers", default="lexicon,prototype,logreg")
    ap.add_argument("--dev-share", type=float, default=0.3)
    ap.add_argument("--llm-sample", type=int, default=200)
    ap.add_argument("--embed-test", type=int, default=1000,
                    help="prototype/logreg: seeded sample of test reviews (embedding all 20k takes ~1 h on 2 cores)")
    ap.add_argument("--embed-dev", type=int, default=2000, help="logreg: seeded sample of dev reviews to train on")
    ap.add_argument("--max-chars", type=int, default=500, help="prototype/logreg: text cut before embedding")
    ap.add_argument("--serve", action="store_true", help="start the bundled SmolLM2 server for the llm classifier")
    ap.add_argument("--home", default=".kgrec")
    ap.add_argument("--out", default=None, help="append the result lines to this JSONL file")
    args = ap.parse_args()

    rows = read_rated(Path(args.data))
    dev = [r for r in rows if is_dev(r, args.dev_share)]
    test = [r for r in rows if not is_dev(r, args.dev_share)]
    print(f"rated reviews with text: {len(rows)} (dev {len(dev)}, test {len(test)})", flush=True)
    lines = []
    from kgrec_neo4j.core.config import load_settings

    settings = load_settings({"home": args.home})
    for name in [c.strip() for c in args.classifiers.split(",") if c.strip()]:
        t0 = time.perf_counter()
        if name == "lexicon":
            clf = LexiconClassifier()
            pred = [v.label for v in clf.classify([Review(title=r["review_title"], text=r["review_text"]) for r in rows])]
            idx = {id(r): k for k, r in enumerate(rows)}
            lines.append(report(name, rows, pred, "all"))
            lines.append(report(name, test, [pred[idx[id(r)]] for r in test], "test"))
            tsample = random.Random(7).sample(test, min(args.embed_test, len(test)))
            lines.append(report(name, tsample, [pred[idx[id(r)]] for r in tsample], f"test-sample-{len(tsample)}"))
            lsample = random.Random(42).sample(test, min(args.llm_sample, len(test)))
            lines.append(report(name, lsample, [pred[idx[id(r)]] for r in lsample], f"test-sample-{len(lsample)}"))
        elif name in ("prototype", "logreg"):
            from kgrec_neo4j.core.embed import get_embedder

            emb = get_embedder(settings)
            tsample = random.Random(7).sample(test, min(args.embed_test, len(test)))
            part = f"test-sample-{len(tsample)}"
            if name == "prototype":
                from kgrec_neo4j.core.schema import load_pack

                clf = PrototypeClassifier(emb, prototypes=load_pack(settings.type_pack).prototypes,
                                          max_chars=args.max_chars)
                pred = [v.label for v in clf.classify([Review(title=r["review_title"], text=r["review_text"])
                                                       for r in tsample])]
                lines.append(report(name, tsample, pred, part))
            else:
                from sklearn.linear_model import LogisticRegression

                dsample = random.Random(8).sample(dev, min(args.embed_dev, len(dev)))
                Xd = emb.encode([Review(title=r["review_title"], text=r["review_text"]).joined(args.max_chars)
                                 for r in dsample])
                Xt = emb.encode([Review(title=r["review_title"], text=r["review_text"]).joined(args.max_chars)
                                 for r in tsample])
                yd = [rating_label(r["rating"]) for r in dsample]
                model = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced").fit(Xd, yd)
                lines.append(report(f"logreg(train=dev-{len(dsample)})", tsample, list(model.predict(Xt)), part))
        elif name == "llm":
            info = None
            if args.serve:
                from kgrec_neo4j.local import llm_server as server

                info = server.start(server.llm_home(settings), port=0, parallel=2)
                settings = load_settings({"home": args.home, "llm_base_url": info.base_url,
                                          "llm_model": info.model})
            sample = random.Random(42).sample(test, min(args.llm_sample, len(test)))
            clf = LLMTextClassifier(settings, concurrency=2, progress=True)
            try:
                verdicts = clf.classify([Review(title=r["review_title"], text=r["review_text"]) for r in sample])
            finally:
                clf.close()
                if info is not None:
                    from kgrec_neo4j.local import llm_server as server

                    server.stop(server.llm_home(settings))
            line = report(f"llm:{clf.client.model_name}", sample, [v.label if v else None for v in verdicts],
                          f"test-sample-{len(sample)}")
            line["llm_stats"] = clf.stats.model_dump() if clf.stats else None
            print(json.dumps({"llm_stats": line["llm_stats"]}), flush=True)
            lines.append(line)
        else:
            raise SystemExit(f"unknown classifier {name!r}")
        print(f"{name}: {time.perf_counter() - t0:.1f}s", flush=True)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
