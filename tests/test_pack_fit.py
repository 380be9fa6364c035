"""The database's first extraction with the default type pack, chosen by nobody, checks that the catalogue suits it.

`kgrec demo --data ../shared/data/movielens-100k` without `--pack` typed every film with the video-games types
(Game Features, Compatibility, ...) without a word: a pack is chosen by `--pack`, KGREC_TYPE_PACK or kgrec.toml,
and forgetting it gave nonsense knowledge that the whole pipeline then built on.
"""

from __future__ import annotations

import gzip
import itertools
import json

import pytest
from click.testing import CliRunner

from kgrec_neo4j.cli import cli
from kgrec_neo4j.core.errors import ConfigError
from kgrec_neo4j.core.schema import FIT_MIN_ITEMS, check_pack_fits, load_pack
from kgrec_neo4j.extract.base import ItemText


def _texts(data_dir, name, n=300):
    with gzip.open(data_dir / name / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in itertools.islice(f, n)]
    return [ItemText(item_id=r["item_id"], title=r["title"], description=r["description"], features=r["features"],
                     categories=r["categories"], brand=r["brand"]).catalogue_text() for r in rows]


@pytest.mark.parametrize("folder, fits", [("movielens-100k", "movies"), ("amazon-office-2018", "office_products")])
def test_another_domains_catalogue_is_refused_with_the_default_pack(data_dir, folder, fits):
    games = load_pack("video_games")
    texts = _texts(data_dir, folder)
    with pytest.raises(ConfigError) as caught:
        check_pack_fits(games, texts, chosen=False)
    msg = str(caught.value)
    assert f"read like type pack {fits!r}" in msg and "nothing was extracted" in msg, msg
    assert f"`kgrec --pack {fits} schema apply`" in msg and f"KGREC_TYPE_PACK={fits}" in msg, msg
    assert "KGREC_TYPE_PACK=video_games" in msg, msg  # and how to keep the default on purpose
    # a chosen pack is never second-guessed; the pack that fits passes; too few items make no verdict
    assert check_pack_fits(games, texts, chosen=True) == {}
    fit = check_pack_fits(load_pack(fits), texts, chosen=False)
    assert fit[fits] >= 0.5 > fit["video_games"], fit
    assert check_pack_fits(games, texts[:FIT_MIN_ITEMS - 1], chosen=False) == {}


def test_the_games_catalogue_passes_with_the_default_pack(data_dir):
    fit = check_pack_fits(load_pack("video_games"), _texts(data_dir, "amazon-videogames-2018"), chosen=False)
    assert fit["video_games"] > 0.5 and max(fit["movies"], fit["office_products"]) < 0.1, fit


def test_a_pack_files_keywords_must_be_words(tmp_path):
    from kgrec_neo4j.core.errors import SchemaError

    p = tmp_path / "mine.yaml"
    p.write_text("name: mine\nkeywords: [film, 3]\ntypes:\n  - {name: Others, definition: anything}\n")
    with pytest.raises(SchemaError, match="keywords must be a list of words"):
        load_pack(str(p))
    p.write_text("name: mine\nkeywords: [Film, film, Movie]\ntypes:\n  - {name: Others, definition: anything}\n")
    assert load_pack(str(p)).keywords == ("film", "movie")


def _films(data_dir, folder, n_items=40, n_users=6):
    """A small film dataset (generic files) of the first ``n_items`` MovieLens films in ``folder``."""
    with gzip.open(data_dir / "movielens-100k" / "items.jsonl.gz", "rt", encoding="utf-8") as f:
        items = [json.loads(line) for line in itertools.islice(f, n_items)]
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    inter = [{"user_id": f"u{u}", "item_id": items[(u * 7 + k) % n_items]["item_id"], "seq": k, "rating": 4.0,
              "timestamp": None, "review_title": None, "review_text": None} for u in range(n_users) for k in range(4)]
    (folder / "interactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in inter))


def test_a_demo_of_films_without_a_pack_is_refused_before_it_loads(db, data_dir, tmp_path, monkeypatch):
    """`kgrec demo --data movielens-100k` without a pack loaded the films (28 s on the whole set) and was refused only
    at extraction; it is refused before its load writes anything, naming the demo's own fix."""
    monkeypatch.delenv("KGREC_TYPE_PACK", raising=False)
    monkeypatch.delenv("KGREC_CONFIG", raising=False)
    (tmp_path / "films").mkdir()
    _films(data_dir, tmp_path / "films")
    res = CliRunner().invoke(cli, ["demo", "--data", str(tmp_path / "films"), "--users", "5", "--models", "pop",
                                   "--epochs", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 1, (res.output, res.exception)
    assert "Error: the items to extract read like type pack 'movies'" in res.output, res.output
    assert "nothing was loaded. To use 'movies': `kgrec --pack movies demo ...`" in res.output, res.output
    assert db.value("MATCH (n) WHERE n:Item OR n:User OR n:Dataset RETURN count(n)") == 0


def test_first_extraction_of_films_without_a_pack_is_refused_and_writes_nothing(db, data_dir, tmp_path, monkeypatch):
    """Through the CLI on a real database: films loaded without a pack; `kgrec extract items` refuses naming the
    movies pack, writes no mention; run as the message says, the extraction goes through with the movies types."""
    monkeypatch.delenv("KGREC_TYPE_PACK", raising=False)
    monkeypatch.delenv("KGREC_CONFIG", raising=False)
    _films(data_dir, tmp_path)
    run = CliRunner().invoke
    assert run(cli, ["load", "--silent", str(tmp_path)]).exit_code == 0

    # a trial of a few items (`--limit 5`) is judged on every item read: run through, it was the first extraction,
    # and no later one was checked
    for limit in ([], ["--limit", "5"]):
        res = run(cli, ["extract", "items", "--extractor", "offline", "--silent", *limit])
        assert res.exit_code == 1, (limit, res.output)
        assert res.output.startswith("Error: the items to extract read like type pack 'movies'"), res.output
    assert db.value("MATCH (m:Mention) RETURN count(m)") == 0
    assert db.value("MATCH (i:Item) WHERE i.extract_hashes IS NOT NULL RETURN count(i)") == 0

    for args in (["--pack", "movies", "schema", "apply"], ["--pack", "movies", "extract", "items", "--extractor",
                                                          "offline", "--silent"]):
        res = run(cli, args)
        assert res.exit_code == 0, (args, res.output, res.exception)
    types = set(db.value("MATCH (m:Mention) RETURN collect(DISTINCT m.type)"))
    assert types and types <= set(load_pack("movies").names), types


def test_an_update_checks_only_the_databases_first_extraction(db, settings):
    """`kgrec update` names the items it extracts: new ones have no extraction yet, but the database has; their
    few texts are not checked again (the films above were extracted with the movies pack, chosen)."""
    from kgrec_neo4j.core.resources import cypher

    assert db.value(cypher("extract/any_extracted")) is True
    db.write("MATCH (i:Item) REMOVE i.extract_hashes")
    assert db.value(cypher("extract/any_extracted")) is False


def test_a_pack_other_than_the_default_is_never_second_guessed(db, settings):
    """Settings built in code (`dataclasses.replace(settings, type_pack=...)`) do not record that the pack was chosen;
    only the default pack is checked, so a pack named any other way is taken as chosen. Here: the films above,
    extracted afresh with the office pack, which the check would refuse (their text reads like films)."""
    import dataclasses

    from kgrec_neo4j.core import schema
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.extract.run import build_extractor, extract_items

    office = load_pack("office_products")
    with pytest.raises(ConfigError):  # what the check says of these films under the default pack
        check_pack_fits(load_pack("video_games"), [r["t"] for r in db.query(
            "MATCH (i:Item) RETURN i.title + ' ' + reduce(s = '', x IN coalesce(i.features, []) | s + ' ' + x) AS t")],
            chosen=False)
    db.write("MATCH (n) WHERE n:Mention OR n:Concept DETACH DELETE n")
    db.write("MATCH (i:Item) REMOVE i.extract_hashes")
    schema.apply(db, office, dim=settings.embedding_dim)
    s = dataclasses.replace(settings, type_pack="office_products")
    assert not s.type_pack_chosen
    with connect(s) as d:
        rep = extract_items(d, build_extractor(s, "offline", pack=office), pack=office, progress=False)
    assert rep.items_done > 0
