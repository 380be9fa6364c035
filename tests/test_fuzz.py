"""Property-based fuzzing of the loaders and the LLM answer parser (Hypothesis): random bytes, huge and deeply nested
JSON, NaN and infinities, NUL and lone surrogates, huge integers, ids that differ only by case or whitespace.

Every input must end in a clear error (:class:`~kgrec_neo4j.core.errors.InputError` naming the file, or a
failure reason for an answer) or a clean skip recorded with file and line; never a traceback, and never a record
that Neo4j could not store (a non-UTF-8 string, an integer outside int64, a non-finite number). The default run
keeps the examples few; ``-m slow`` runs the long pass."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgrec_neo4j.core.errors import InputError
from kgrec_neo4j.llm.structured import AnswerFailure, validate_answer
from kgrec_neo4j.load.read import INT64, MAX_LINE_BYTES, read, read_generic
from kgrec_neo4j.users.interests.llm import InterestAnswer

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])
LONG = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])

# --- strategies --------------------------------------------------------------------------------------------------

IDS = st.sampled_from(["A1", "a1", " A1", "A1 ", "A\u00a01", "A1\t", "\ufeffA1", "B2", "b2", "", " ", "x" * 300])
WEIRD_STR = st.one_of(IDS, st.text(max_size=30), st.sampled_from(["\x00", "nul\x00byte", "\u202e", "\U0001f600"]))
NUMBERS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([2**63, 2**63 - 1, -(2**63) - 1, 10**400, 0.5, -0.0]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, WEIRD_STR)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


def _record(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """A JSON object with the expected keys holding hostile values (sometimes absent), plus stray keys."""
    return st.fixed_dictionaries({}, optional={k: st.one_of(v, VALUES) for k, v in fields.items()}).flatmap(
        lambda d: st.dictionaries(st.text(max_size=6), VALUES, max_size=2).map(lambda extra: {**extra, **d}))


ITEM = _record({"item_id": IDS, "title": WEIRD_STR, "description": st.lists(WEIRD_STR, max_size=3),
                "features": st.lists(WEIRD_STR, max_size=3), "categories": WEIRD_STR, "brand": WEIRD_STR})
INTERACTION = _record({"user_id": IDS, "item_id": IDS, "seq": NUMBERS, "rating": NUMBERS, "timestamp": NUMBERS,
                       "review_title": WEIRD_STR, "review_text": WEIRD_STR})


def _json_line(obj: Any) -> bytes:
    """JSON as a hostile writer produces it: NaN / Infinity literals, lone surrogates as escapes."""
    return json.dumps(obj, allow_nan=True, ensure_ascii=True).encode() + b"\n"


RAW_LINES = st.one_of(
    st.binary(max_size=64).map(lambda b: b + b"\n"),
    st.sampled_from([b"\n", b"   \n", b"[1, 2]\n", b"null\n", b'"text"\n', b'{"item_id": "\\ud800"}\n',
                     b'{"item_id": "ok", "title": "\\udfff lone"}\n', b"\xff\xfe{}\n", b'{"seq": 1e400}\n',
                     b"[" * 5000 + b"]" * 5000 + b"\n", b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"\n",
                     b'{"item_id": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n', b'{"item_id": "unterminated\n']),
)


def _lines(records: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.one_of(records.map(_json_line), RAW_LINES), max_size=12)


# --- checks -------------------------------------------------------------------------------------------------------

def _storable(v: Any, where: str) -> None:
    """Whatever the reader accepted can be sent to Neo4j: UTF-8 strings, int64 integers, finite floats."""
    if isinstance(v, str):
        v.encode("utf-8")  # raises on a lone surrogate
    elif isinstance(v, bool) or v is None:
        pass
    elif isinstance(v, int):
        assert INT64[0] <= v <= INT64[1], where
    elif isinstance(v, float):
        assert math.isfinite(v), where
    elif isinstance(v, (list, tuple)):
        for x in v:
            _storable(x, where)
    elif isinstance(v, dict):
        for k, x in v.items():
            _storable(k, where)
            _storable(x, where)
    else:
        raise AssertionError(f"{where}: unexpected {type(v).__name__}")


def _check_dataset(ds, files: list[Path]) -> None:
    names = {str(f) for f in files}
    for iid, item in ds.items.items():
        assert iid == item["id"] and iid.strip()
        _storable(item, f"item {iid!r}")
    for it in ds.interactions:
        assert it.item in ds.items and it.user.strip()
        _storable(tuple(it), f"interaction {it!r}")
    assert len({(it.user, it.seq) for it in ds.interactions}) == len(ds.interactions)
    for issue in ds.issues:
        assert issue.source in names and (issue.line is None or issue.line >= 1) and issue.reason


def _fuzz_generic(tmp_path: Path, items: list[bytes], interactions: list[bytes]) -> None:
    folder = tmp_path / "ds"
    folder.mkdir(exist_ok=True)
    (folder / "items.jsonl").write_bytes(b"".join(items))
    (folder / "interactions.jsonl").write_bytes(b"".join(interactions))
    files = [folder / "items.jsonl", folder / "interactions.jsonl"]
    _check_dataset(read_generic(files[0], files[1], name="fuzz"), files)
    try:
        ds = read([folder])  # format detection on hostile first lines: a clear error or the same dataset
    except InputError as e:
        assert str(e)
    else:
        _check_dataset(ds, files)


@FAST
@given(items=_lines(ITEM), interactions=_lines(INTERACTION))
def test_generic_loader_never_raises(tmp_path, items, interactions):
    _fuzz_generic(tmp_path, items, interactions)


@pytest.mark.slow
@LONG
@given(items=_lines(ITEM), interactions=_lines(INTERACTION))
def test_generic_loader_never_raises_long(tmp_path, items, interactions):
    _fuzz_generic(tmp_path, items, interactions)


def test_ids_that_differ_by_case_stay_distinct_and_blank_or_spaced_ids_are_skipped(tmp_path):
    """Ids are compared exactly: `A1` and `a1` are two. An id with spaces around it (`A1 `) was a third, a phantom
    beside `A1` from a stray space in an export: it is skipped as a blank one is, naming the line."""
    folder = tmp_path / "ds"
    folder.mkdir()
    ids, spaced = ["A1", "a1"], [" A1", "A1 "]
    (folder / "items.jsonl").write_bytes(b"".join(_json_line({"item_id": i, "title": i})
                                                  for i in [*ids, *spaced, " "]))
    (folder / "interactions.jsonl").write_bytes(b"".join(
        _json_line({"user_id": u, "item_id": "A1", "seq": 1}) for u in [*ids, *spaced, "\t"]))
    ds = read([folder])
    assert sorted(ds.items) == sorted(ids) and sorted(it.user for it in ds.interactions) == sorted(ids)
    assert ds.skipped["invalid record"] == 6
    assert sum("is empty" in i.reason for i in ds.issues) == 2
    assert sum("starts or ends with a space" in i.reason for i in ds.issues) == 4


# --- the LLM answer parser ------------------------------------------------------------------------------------------

ANSWER_TEXT = st.one_of(
    st.text(max_size=200),
    VALUES.map(lambda v: json.dumps(v, allow_nan=True)),
    st.lists(st.fixed_dictionaries({}, optional={
        "concept": WEIRD_STR, "type": WEIRD_STR, "horizon": st.sampled_from(["long", "short", "LONG", ""]),
        "polarity": NUMBERS, "weight_change": NUMBERS, "confidence": NUMBERS,
        "evidence": st.lists(WEIRD_STR, max_size=3)}), max_size=3).map(
        lambda ups: json.dumps({"updates": ups}, allow_nan=True)),
    st.sampled_from(["[" * 100_000 + "]" * 100_000, '{"updates": ' * 50_000 + "[]" + "}" * 50_000,
                     "```json\n{\"updates\": []}\n```", '{"updates": [], "updates": null}', "\x00", "\ud800",
                     '{"updates": [{"concept": "\\ud800"}]}', '{"updates": "' + "x" * 200_000 + '"}']),
)


def _fuzz_answer(text: str, finish: str | None) -> None:
    try:
        ans = validate_answer(InterestAnswer, text, finish, 100)
    except AnswerFailure as f:
        assert f.reason in {"truncated", "empty_answer", "invalid_json", "schema_violation"} and f.detail
    else:
        assert isinstance(ans, InterestAnswer)


@FAST
@given(text=ANSWER_TEXT, finish=st.sampled_from([None, "stop", "length"]))
def test_answer_parser_never_raises(text, finish):
    _fuzz_answer(text, finish)


@pytest.mark.slow
@LONG
@given(text=ANSWER_TEXT, finish=st.sampled_from([None, "stop", "length"]))
def test_answer_parser_never_raises_long(text, finish):
    _fuzz_answer(text, finish)
