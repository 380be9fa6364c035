"""Type discovery (``kgrec types discover``) on real Office items: free-typed LLM points over HTTP against
the fake OpenAI server (synonym types merge, the pack file loads), and the offline phrase mode."""

from __future__ import annotations

import itertools
import re
import threading

import pytest
from click.testing import CliRunner
from conftest import DATA
from fakes.openai_server import FakeOpenAIServer, Reply, json_reply

from kgrec_neo4j.cli.types import types as types_group
from kgrec_neo4j.core.config import load_settings
from kgrec_neo4j.core.errors import InputError, KgrecError
from kgrec_neo4j.core.schema import load_pack
from kgrec_neo4j.discover import (
    OTHERS,
    ProposedType,
    discover,
    items_from_dataset,
    label_key,
    sample_items,
    select_types,
)

OFFICE = DATA / "amazon-office-2018"

pytestmark = pytest.mark.skipif(not OFFICE.is_dir(), reason=f"the Office data is not at {OFFICE}: put the shared data "
                                "beside the checkout (../shared/data) or set KGREC_DATA_DIR")


@pytest.fixture(scope="module")
def office_items():
    return items_from_dataset([OFFICE])


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One home for the module: the embedding cache is shared by the tests."""
    return tmp_path_factory.mktemp("discover-home")


COLOR_TYPES = ["Color", "Colour", "Colors"]
COLOR_WORDS = ["black", "blue", "red", "green", "white", "yellow", "silver", "assorted"]


def free_type_model():
    """A model answering free-form types for each item, from the item's own text. The colour type is
    written three ways in turn (Color / Colour / Colors); brand as Brand / Manufacturer / Brand Name."""
    turn = itertools.count()
    lock = threading.Lock()

    def answer(body: dict) -> Reply:
        with lock:
            i = next(turn)
        text = body["messages"][-1]["content"]
        title = (re.search(r"Title: (.*)", text) or re.search(r"(.*)", "")).group(1) or "office item"
        brand = (re.search(r"Brand: (.*)", text).group(1) if "Brand: " in text else "generic")
        low = text.lower()
        color = next((c for c in COLOR_WORDS if c in low), "black")
        words = re.findall(r"[A-Za-z]+", title)
        points = [
            {"type": COLOR_TYPES[i % 3], "value": color},
            {"type": ["Brand", "Manufacturer", "Brand Name"][i % 3], "value": brand},
            {"type": "Product Type", "value": " ".join(words[-2:]) or "office item"},
            {"type": ["Material", "Materials"][i % 2], "value": "paper" if "paper" in low else "plastic"},
            {"type": "Other", "value": "ships in a box"},
            {"type": "the colour of the ink in the pen", "value": color},  # over 4 words: dropped
        ]
        if i % 2 == 0:
            points.append({"type": ["Size", "Dimensions"][i % 4 // 2], "value": "8.5 x 11 inches"})
        return json_reply({"points": points})

    return answer


def test_llm_discovery_merges_synonym_types_and_writes_a_loadable_pack(office_items, home, tmp_path):
    items = office_items[:20]
    out = tmp_path / "office_discovered.yaml"
    with FakeOpenAIServer(free_type_model()) as srv:
        settings = load_settings({"llm_base_url": srv.base_url, "llm_model": "fake-model", "home": str(home),
                                  "llm_max_retries": 0}, environ={})
        report = discover(items, settings, extractor="llm", k=4, sample=20, out=out, name="office_discovered",
                          domain="Office products")
        n_calls = srv.calls
        system = srv.requests[0]["messages"][0]["content"]

    assert n_calls == 20 and report.items_sampled == 20 and report.items_failed == 0
    # the prompt leaves the types free: no pack type names are imposed
    assert "Invent the names you need" in system and "Product Type:" not in system
    # Color / Colour / Colors are one proposed type, and no other type holds any of them
    color = [t for t in report.types if set(COLOR_TYPES) & set(t.members)]
    assert len(color) == 1 and set(COLOR_TYPES) <= set(color[0].members)
    assert color[0].coverage == 1.0 and color[0].cohesion > 0.9
    brand = [t for t in report.types if "Brand" in t.members]
    assert len(brand) == 1 and {"Manufacturer", "Brand Name"} <= set(brand[0].members)
    # 'Other' labels go to Others, never become a type; over-long types are dropped and counted
    assert report.others_labels == 20 and report.dropped.get("bad_type") == 20
    names = [t.name for t in report.types]
    assert len(names) == 5 and names[-1] == OTHERS and len(set(names)) == 5
    assert all(t.definition for t in report.types)
    assert [t.score for t in report.types[:-1]] == sorted((t.score for t in report.types[:-1]), reverse=True)

    pack = load_pack(str(out))
    assert pack.name == "office_discovered" and pack.domain == "Office products"
    assert pack.names == names and len(pack.types) == 4 + 1 and "Others" in pack.names
    assert pack.get(color[0].name).examples  # the colour values came through as examples
    assert "# coverage" in out.read_text()

    # a rerun answers from the LLM cache: no calls, same proposal
    with FakeOpenAIServer(free_type_model()) as srv:
        settings = load_settings({"llm_base_url": srv.base_url, "llm_model": "fake-model", "home": str(home)},
                                 environ={})
        again = discover(items, settings, extractor="llm", k=4, sample=20, domain="Office products")
        assert srv.calls == 0
    assert [t.name for t in again.types] == names


def test_llm_discovery_fails_clearly_when_every_item_fails(office_items, home):
    with FakeOpenAIServer(Reply("status", status=400, content="bad request")) as srv:
        settings = load_settings({"llm_base_url": srv.base_url, "llm_model": "fake-model", "home": str(home),
                                  "llm_max_retries": 0}, environ={})
        with pytest.raises(KgrecError, match="failed on all 3 sampled items") as err:
            discover(office_items[20:23], settings, extractor="llm", k=2, sample=3)
    # the commands it names exist (it named `kgrec llm check`, which does not)
    from kgrec_neo4j.cli import cli

    named = re.findall(r"`kgrec ([a-z ]+?)(?: [A-Z]+)?`", str(err.value))
    assert named
    for c in named:
        assert CliRunner().invoke(cli, [*c.split(), "--help"]).exit_code == 0, c


def test_offline_discovery_on_100_office_items(office_items, home, tmp_path):
    settings = load_settings({"home": str(home)}, environ={})
    out = tmp_path / "offline.yaml"
    report = discover(office_items, settings, extractor="offline", k=9, sample=100, seed=1, out=out,
                      name="office_offline", domain="Office products")
    assert report.items_available == len(office_items) and report.items_sampled == 100
    assert report.observations > 500 and report.clusters > 9
    kept = report.types[:-1]
    assert len(kept) == 9 and report.types[-1].name == OTHERS
    assert all(t.definition.strip() and t.examples and t.coverage > 0 for t in kept)
    assert all(0 < t.cohesion <= 1.0 and t.score == pytest.approx(t.coverage * t.cohesion, abs=1e-3) for t in kept)
    assert min(t.score for t in kept) >= max(t.score for t in report.runners_up)
    assert 0 < report.covered_by_types <= 1
    pack = load_pack(str(out))
    assert len(pack.types) == 10 and pack.names[-1] == "Others"


def test_cli_discover_offline(office_items, home, tmp_path):
    settings = load_settings({"home": str(home)}, environ={})
    out = tmp_path / "cli.yaml"
    res = CliRunner().invoke(types_group, ["discover", "--data", str(OFFICE), "--sample", "30", "--k", "3",
                                           "--out", str(out), "--name", "cli_pack", "--silent"],
                             obj={"settings": settings})
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output and "30 of" in res.output
    assert load_pack(str(out)).name == "cli_pack" and len(load_pack(str(out)).types) == 4
    res = CliRunner().invoke(types_group, ["discover", "--out", str(out)], obj={"settings": settings})
    assert res.exit_code == 2 and "exactly one of --data PATH or --from-db" in res.output
    # the written pack is reviewed by hand: a rerun to the same file is refused, unless --force
    out.write_text(out.read_text() + "# reviewed\n")
    again = ["discover", "--data", str(OFFICE), "--sample", "30", "--k", "3", "--out", str(out), "--silent"]
    res = CliRunner().invoke(types_group, again, obj={"settings": settings})
    assert res.exit_code == 1 and "exists" in res.output and "--force" in res.output, res.output
    assert out.read_text().endswith("# reviewed\n")
    res = CliRunner().invoke(types_group, [*again, "--force"], obj={"settings": settings})
    assert res.exit_code == 0 and not out.read_text().endswith("# reviewed\n"), res.output


def test_label_key_folds_case_punctuation_and_plurals():
    assert {label_key(x) for x in ["Colors", "color", " COLOR ", "Color."]} == {"color"}
    assert label_key("Inches") == "inch" and label_key("Boxes") == "box" and label_key("Batteries") == "battery"
    assert label_key("Glass") == "glass" and label_key("Page Yields") == "page yield"
    assert label_key("Colour") != label_key("Color")  # spelling variants are the embeddings' job


def test_sample_and_select_guard_their_arguments(office_items):
    a, b = sample_items(office_items, 50, seed=3), sample_items(office_items, 50, seed=3)
    assert [x.item_id for x in a] == [x.item_id for x in b] and len(a) == 50
    assert [x.item_id for x in a] == sorted(x.item_id for x in a)
    with pytest.raises(ValueError, match=r"got 0"):
        sample_items(office_items, 0)
    ranked = [ProposedType(name="A", definition="", coverage=0.5, cohesion=1.0, score=0.5)]
    with pytest.raises(KgrecError, match="only 1 label clusters .* k=3"):
        select_types(ranked, 3)
    with pytest.raises(InputError, match=r"\.yaml or \.yml"):
        from kgrec_neo4j.discover import write_pack

        write_pack(select_types(ranked, 1), "/tmp/not-a-pack.txt", name="x", domain="x")


def test_offline_discovery_reads_key_value_lines_as_named_types(home, tmp_path):
    """MovieLens' `Director: …` lines: offline discovery proposed *Director* with the examples "Director" and
    "Commander Hunter" (the key and a plot phrase), *Runtime* with "runs", *Age Rating* with "age". The values of a
    keyed line are now observed under their key: the type is named by it and its examples are its values."""
    movies = DATA / "movielens-100k"
    if not movies.is_dir():
        pytest.skip(f"no MovieLens data at {movies}")
    settings = load_settings({"home": str(home)}, environ={})
    report = discover(items_from_dataset([movies]), settings, extractor="offline", k=7, sample=100, seed=0,
                      out=tmp_path / "films.yaml")
    by_name = {t.name: t for t in report.types}
    assert {"Director", "Cast", "Writer", "Age Rating", "Runtime"} <= set(by_name), list(by_name)
    assert "director" not in {e.lower() for e in by_name["Director"].examples}
    assert all(len(e.split()) >= 2 for e in by_name["Director"].examples), by_name["Director"].examples  # names
    assert {"R", "PG"} <= set(by_name["Age Rating"].examples), by_name["Age Rating"].examples
    assert "'Director: ...'" in by_name["Director"].definition
    assert load_pack(str(tmp_path / "films.yaml")).names[-1] == "Others"


def test_offline_discovery_reads_a_headed_bullet_as_text_without_its_heading():
    """`SURROUND SOUND: Immerse yourself in … 7.1 virtual surround sound with deep bass`: no value of up to eight words,
    so no keyed observation; the line was then skipped whole. Its text is read again, its heading left out."""
    from kgrec_neo4j.discover.observe import offline_observations
    from kgrec_neo4j.extract.base import ItemText

    it = ItemText(item_id="h", title="Gaming Headset", features=[
        "SURROUND SOUND: Immerse yourself in crystal clear virtual surround sound with deep bass for every game",
        "Platform: PC"])
    obs = offline_observations([it])
    keyed = {(o.attribute, o.value) for o in obs if o.attribute}
    phrases = {label_key(o.label) for o in obs if not o.attribute}
    assert keyed == {("Platform", "PC")}
    assert {"deep bass", "crystal clear virtual surround sound"} <= phrases, phrases  # the line's text is read
    assert "surround sound" not in phrases, phrases  # its heading is not a value
