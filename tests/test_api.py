"""``kgrec serve`` over real HTTP (uvicorn on a free port): answers name their run, an edge written through the
driver changes the very next answer, bad requests are 400 naming the field, unknown ids are 404, the token is
enforced, a new current run is picked up without dropping a request, and Neo4j down is 503 then recovery."""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import httpx
import numpy as np
import pytest
from _kg_fixture import RUN
from _private_neo4j import free_port, start_private_neo4j

from kgrec_neo4j.serve import scoring as S
from kgrec_neo4j.serve.api import ServiceState, create_app, serve


class Running:
    """A uvicorn server of the app in a thread, on a free loopback port."""

    def __init__(self, state: ServiceState, token: str | None = None, writes: bool = False,
                 send_token: bool = False) -> None:
        import uvicorn

        self.state = state
        self.token = token if send_token else None  # (the client sends it on every request)
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(create_app(state, token=token, writes=writes), host="127.0.0.1",
                                                    port=self.port, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.state.start()
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60,
                                   headers={"Authorization": f"Bearer {self.token}"} if self.token else None)
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.state.stop()


@pytest.fixture(scope="module")
def service(db, kg, settings):
    S.clear_cache()
    with Running(ServiceState(settings, poll_s=0.2)) as client:
        yield client
    S.clear_cache()


def test_health_and_a_recommendation_name_the_run(service, kg):
    h = service.get("/health")
    assert h.status_code == 200 and h.json()["run"] == RUN and h.json()["neo4j"] is True
    assert h.json()["version"] == 0  # the run's version it answers with (`kgrec update` bumps it)
    user = kg["users"][0]
    r = service.get(f"/users/{user}/recommendations", params={"k": 5, "explain": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["run"] == RUN and body["user"] == user and len(body["items"]) == 5
    assert all("sentence" in it["explanation"] for it in body["items"])


def test_an_edge_committed_through_the_driver_changes_the_next_answer(service, db, kg):
    user = kg["users"][1]
    first = service.get(f"/users/{user}/recommendations", params={"k": 3}).json()
    top = first["items"][0]["item"]
    db.write("MATCH (u:User {id: $u}), (i:Item {id: $i}) CREATE (u)-[:INTERACTED {seq: 999, rating: 5.0}]->(i)",
             u=user, i=top)
    try:
        t0 = time.perf_counter()
        second = service.get(f"/users/{user}/recommendations", params={"k": 3}).json()
        assert time.perf_counter() - t0 < 5
        assert top not in [it["item"] for it in second["items"]]
        assert second["excluded"] == first["excluded"] + 1
    finally:
        db.write("MATCH (:User {id: $u})-[x:INTERACTED {seq: 999}]->() DELETE x", u=user)


@pytest.mark.parametrize(("params", "field"), [({"k": 0}, "k"), ({"k": 5000}, "k"), ({"k": "ten"}, "k"),
                                               ({"explain": "maybe"}, "explain")])
def test_a_malformed_request_is_400_naming_the_field(service, kg, params, field):
    r = service.get(f"/users/{kg['users'][0]}/recommendations", params=params)
    assert r.status_code == 400 and r.json()["field"] == field and field in r.json()["error"]


def test_a_long_list_with_explanations_is_refused_and_an_overgrown_query_is_not_an_outage(service, kg):
    """k=1000&explain=true (k within its range) read the paths of a thousand items in one query, outgrew the memory
    Neo4j gives a transaction, was retried for 79 s and answered 503 "Neo4j is unreachable ... retry shortly"."""
    from kgrec_neo4j.serve import api
    from kgrec_neo4j.serve.explain import MAX_EXPLAINED

    r = service.get(f"/users/{kg['users'][0]}/recommendations", params={"k": MAX_EXPLAINED + 1, "explain": "true"})
    assert r.status_code == 400 and r.json()["field"] == "k", r.text
    assert f"explains at most {MAX_EXPLAINED} items" in r.json()["error"] and "/explanation" in r.json()["error"]
    assert service.get(f"/users/{kg['users'][0]}/recommendations", params={"k": MAX_EXPLAINED + 1}).status_code == 200

    from neo4j.exceptions import TransientError

    refused = TransientError("The allocation of an extra 2.0 MiB would use more than the limit 1.4 GiB. "
                             "(org.neo4j.memory.MemoryPoolOutOfMemoryError)")
    other = TransientError("a lock could not be taken in time")
    assert api._out_of_memory(refused) and not api._neo4j_down(refused)  # (a TransientError, yet no outage)
    assert not api._out_of_memory(other) and api._neo4j_down(other)
    assert not api._out_of_memory(ConnectionRefusedError("refused")) and api._neo4j_down(ConnectionRefusedError())


@pytest.mark.parametrize(("route", "params", "field"), [
    ("/users/{user}/recommendations", {"k": 3, "explian": "true"}, "explian"),
    ("/users/{user}/recommendations", {"kk": 3}, "kk"),
    ("/users/{user}/items/{item}/explanation", {"explain": "true"}, "explain"),
])
def test_an_unknown_query_parameter_is_400_naming_it(service, kg, route, params, field):
    """GET /users/U/recommendations?kk=3 (or a misspelled explain) was answered with the defaults, the parameter
    silently dropped: a query parameter the route does not know is 400 naming it, as an unknown body field is."""
    user = kg["users"][0]
    item = service.get(f"/users/{user}/recommendations", params={"k": 1}).json()["items"][0]["item"]
    r = service.get(route.format(user=user, item=item), params=params)
    assert r.status_code == 400 and r.json()["field"] == field and field in r.json()["error"], r.text


def test_unknown_ids_are_404(service, kg):
    r = service.get("/users/nobody-at-all/recommendations")
    assert r.status_code == 404 and "nobody-at-all" in r.json()["error"]
    # the service's own way to add a user, not only the CLI's (a read-only one says it needs --writes)
    assert "POST /users/{user}/interactions" in r.json()["error"] and "--writes" in r.json()["error"], r.text
    r = service.get(f"/users/{kg['users'][0]}/items/no-such-item/explanation")
    assert r.status_code == 404 and "no-such-item" in r.json()["error"]
    r = service.get("/no/such/route")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}


def test_the_api_description_is_served(service):
    """GET /openapi.json was a 500 (PydanticUserError: the routes that answer a JSONResponse had it as a string
    annotation FastAPI took for a response model), so the /docs page FastAPI serves showed no route."""
    r = service.get("/openapi.json")
    assert r.status_code == 200, r.text
    assert {"/health", "/users/{user}/recommendations", "/users/{user}/items/{item}/explanation",
            "/users/{user}/interactions", "/items"} <= set(r.json()["paths"])
    assert service.get("/docs").status_code == 200
    # its errors are the service's {"error", "field"} 4XX answers, not FastAPI's 422 (never answered)
    for route in ("/users/{user}/recommendations", "/users/{user}/interactions"):
        op = next(iter(r.json()["paths"][route].values()))
        assert "422" not in op["responses"] and "4XX" in op["responses"], op["responses"]
        schema = op["responses"]["4XX"]["content"]["application/json"]["schema"]
        assert schema["required"] == ["error"] and set(schema["properties"]) == {"error", "field"}


def test_why_and_why_not(service, kg):
    user = kg["users"][0]
    top = service.get(f"/users/{user}/recommendations", params={"k": 1}).json()["items"][0]
    r = service.get(f"/users/{user}/items/{top['item']}/explanation")
    assert r.status_code == 200 and r.json()["recommended"] and r.json()["run"] == RUN
    assert r.json()["score"] == pytest.approx(top["score"], rel=1e-5)


def _edges(db, user):
    return db.query("MATCH (:User {id: $u})-[x:INTERACTED]->(i) RETURN x.seq AS seq, i.id AS item, x.split AS split, "
                    "x.rating AS rating, x.timestamp AS ts, x.kind_source AS source ORDER BY seq", u=user)


def test_a_read_only_service_refuses_to_record(service, db, kg):
    user = kg["users"][0]
    before = _edges(db, user)
    r = service.post(f"/users/{user}/interactions", json={"item": before[0]["item"]})
    assert r.status_code == 403 and "kgrec serve --writes" in r.json()["error"]
    # a body with a field missing or misspelled is 403 too, not a 400 asking to fix what would not be recorded anyway
    for route, body in ((f"/users/{user}/interactions", {"rating": 5}),
                        (f"/users/{user}/interactions", {"item": before[0]["item"], "ratng": 5}), ("/items", {})):
        r = service.post(route, json=body)
        assert r.status_code == 403 and "kgrec serve --writes" in r.json()["error"], (route, body, r.text)
    # and a body that is not JSON at all: FastAPI parses it before a route's dependencies run (it was a 400)
    for route in (f"/users/{user}/interactions", "/items"):
        r = service.post(route, content=b'{"item": ', headers={"Content-Type": "application/json"})
        assert r.status_code == 403 and "kgrec serve --writes" in r.json()["error"], (route, r.text)
    assert service.post("/nowhere", json={}).status_code == 404  # (not every POST is a write to refuse)
    assert _edges(db, user) == before


def test_an_interaction_posted_counts_in_the_next_answer(db, kg, settings):
    user = kg["users"][2]
    before = _edges(db, user)
    try:
        with Running(ServiceState(settings, poll_s=5), writes=True, token="write-token", send_token=True) as client:
            first = client.get(f"/users/{user}/recommendations", params={"k": 3}).json()
            top = first["items"][0]["item"]
            r = client.post(f"/users/{user}/interactions", json={"item": top, "rating": 5, "timestamp": 1700000000})
            assert r.status_code == 201, r.text
            nxt = max(e["seq"] for e in before) + 1
            assert r.json() == {"user": user, "item": top, "seq": nxt, "written": True, "new_user": False}
            second = client.get(f"/users/{user}/recommendations", params={"k": 3}).json()
            assert top not in [it["item"] for it in second["items"]] and second["excluded"] == first["excluded"] + 1
            # the user's latest edge, train, not classified yet (`kgrec update` classifies it)
            assert _edges(db, user)[-1] == {"seq": nxt, "item": top, "split": "train", "rating": 5.0,
                                           "ts": 1700000000, "source": None}
            # a retry (same item and timestamp) is not written again
            again = client.post(f"/users/{user}/interactions", json={"item": top, "rating": 5, "timestamp": 1700000000})
            assert again.status_code == 200 and again.json()["seq"] == nxt and again.json()["written"] is False
            # without a timestamp each post is an interaction (a repeat purchase); two at once get two seqs
            other = first["items"][1]["item"]
            answers: list = []
            threads = [threading.Thread(target=lambda: answers.append(
                client.post(f"/users/{user}/interactions", json={"item": other}))) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(a.status_code for a in answers) == [201, 201]
            assert sorted(a.json()["seq"] for a in answers) == [nxt + 1, nxt + 2]
            assert len(_edges(db, user)) == len(before) + 3
            # the retry of the first, after those two: still not written again (it was, when only the latest
            # interaction was compared)
            late = client.post(f"/users/{user}/interactions", json={"item": top, "rating": 5, "timestamp": 1700000000})
            assert late.status_code == 200 and late.json()["seq"] == nxt and late.json()["written"] is False, late.text
            # the same item and timestamp with another rating: refused, naming the stored one (it was dropped in
            # silence as a retry)
            changed = client.post(f"/users/{user}/interactions",
                                  json={"item": top, "rating": 4, "timestamp": 1700000000})
            assert changed.status_code == 409 and changed.json()["field"] == "rating", changed.text
            assert f"(seq {nxt}, rating 5) and this one's rating differs" in changed.json()["error"] \
                and "another timestamp" in changed.json()["error"]
            # the same rating with a review: the review is what differs (it named the timestamp, and the rating)
            review = client.post(f"/users/{user}/interactions",
                                 json={"item": top, "rating": 5, "timestamp": 1700000000, "review_text": "great"})
            assert review.status_code == 409 and review.json()["field"] == "review_text", review.text
            assert "this one's review_text differs" in review.json()["error"], review.text
            assert len(_edges(db, user)) == len(before) + 3
            # bad input: the field named, nothing written
            for body, field in (({"item": top, "rating": 7}, "rating"), ({"rating": 4}, "item"),
                                ({"item": top, "timestamp": -1}, "timestamp"),
                                # JSON true / "4" were taken as 1 / 4: `"rating": true` recorded a dislike
                                ({"item": top, "rating": True}, "rating"), ({"item": top, "rating": "4"}, "rating"),
                                ({"item": top, "timestamp": True}, "timestamp")):
                bad = client.post(f"/users/{user}/interactions", json=body)
                assert bad.status_code == 400 and bad.json()["field"] == field, bad.text
            nan = client.post(f"/users/{user}/interactions", content=f'{{"item": "{top}", "rating": NaN}}',
                              headers={"Content-Type": "application/json"})
            assert nan.status_code == 400 and "finite" in nan.text, nan.text
            gone = client.post(f"/users/{user}/interactions", json={"item": "no-such-item"})
            assert gone.status_code == 404 and "no-such-item" in gone.json()["error"]
            # a user of another dataset than the item
            db.write("MATCH (u:User {id: $u}) SET u.dataset_was = u.dataset, u.dataset = 'another-dataset'", u=user)
            try:
                clash = client.post(f"/users/{user}/interactions", json={"item": top})
                assert clash.status_code == 409 and "another-dataset" in clash.json()["error"]
            finally:
                db.write("MATCH (u:User {id: $u}) SET u.dataset = u.dataset_was REMOVE u.dataset_was", u=user)
            assert len(_edges(db, user)) == len(before) + 3
            # a new user: created in the item's dataset, recommended from that one interaction at once
            new = client.post("/users/api-new-user/interactions", json={"item": top, "rating": 4})
            assert new.status_code == 201 and new.json()["seq"] == 0 and new.json()["new_user"] is True
            assert db.value("MATCH (u:User {id: 'api-new-user'}), (i:Item {id: $i}) RETURN u.dataset = i.dataset",
                            i=top) is True
            recs = client.get("/users/api-new-user/recommendations", params={"k": 3})
            assert recs.status_code == 200 and recs.json()["source"] == "model", recs.text
            assert top not in [it["item"] for it in recs.json()["items"]]
    finally:
        db.write("MATCH (:User {id: $u})-[x:INTERACTED]->() WHERE x.seq > $last DELETE x", u=user,
                 last=max(e["seq"] for e in before))
        db.write("MATCH (u:User {id: 'api-new-user'}) DETACH DELETE u")
    assert _edges(db, user) == before


def test_items_posted_to_the_service(db, kg, settings):
    dataset, stored = db.query("MATCH (i:Item) WHERE i.dataset IS NOT NULL RETURN i.dataset AS d, i.id AS i "
                               "ORDER BY i.id LIMIT 1")[0].values()
    try:
        with Running(ServiceState(settings, poll_s=5), writes=True, token="write-token", send_token=True) as client:
            body = {"id": "api-new-item", "dataset": dataset, "title": "A new game", "features": ["co-op"]}
            r = client.post("/items", json=body)
            assert r.status_code == 201 and r.json()["new_item"] and r.json()["written"], r.text
            row = db.query("MATCH (i:Item {id: 'api-new-item'}) RETURN i.dataset AS d, i.title AS t, i.features AS f, "
                           "i.current_text_hash IS NOT NULL AS h")[0]
            assert row == {"d": dataset, "t": "A new game", "f": ["co-op"], "h": True}
            again = client.post("/items", json=body)
            assert again.status_code == 200 and again.json()["written"] is False
            missing = client.post("/items", json={**body, "dataset": "no-such-dataset"})
            assert missing.status_code == 404 and "no-such-dataset" in missing.json()["error"]
            db.write("MERGE (:Dataset {name: 'api-other'})")
            clash = client.post("/items", json={"id": stored, "dataset": "api-other", "title": "x"})
            assert clash.status_code == 409 and repr(dataset) in clash.json()["error"]
            bad = client.post("/items", json={"dataset": dataset, "title": "no id"})
            assert bad.status_code == 400 and bad.json()["field"] == "id"
        with Running(ServiceState(settings, poll_s=5)) as read_only:
            r = read_only.post("/items", json={**body, "id": "api-other-item"})
            assert r.status_code == 403 and "--writes" in r.json()["error"]
        assert db.value("MATCH (i:Item {id: 'api-other-item'}) RETURN count(i)") == 0
    finally:
        db.write("MATCH (i:Item {id: 'api-new-item'}) DETACH DELETE i")
        db.write("MATCH (d:Dataset {name: 'api-other'}) DELETE d")


def test_an_item_record_over_what_kgrec_load_takes_is_400_and_nothing_is_written(db, kg, settings):
    """POST /items took a description of 20 MB (1000 entries of any length), which `kgrec load` refuses in a line
    over 1 MB, and the next `kgrec update` spent minutes extracting that one item: a record of more than 1 MB of
    JSON is 400 naming its largest field, and nothing is written."""
    from kgrec_neo4j.load.read import MAX_LINE_BYTES

    dataset = db.value("MATCH (i:Item) WHERE i.dataset IS NOT NULL RETURN i.dataset LIMIT 1")
    body = {"id": "api-huge-item", "dataset": dataset, "title": "huge",
            "features": ["f" * 1000], "description": ["d" * (MAX_LINE_BYTES // 2)] * 2}
    try:
        with Running(ServiceState(settings, poll_s=5), writes=True, token="write-token", send_token=True) as client:
            r = client.post("/items", json=body)
            assert r.status_code == 400 and r.json()["field"] == "description", r.text
            assert "kgrec load" in r.json()["error"]
        assert db.value("MATCH (i:Item {id: 'api-huge-item'}) RETURN count(i)") == 0
    finally:
        db.write("MATCH (i:Item {id: 'api-huge-item'}) DETACH DELETE i")


def test_a_body_over_the_limit_is_413_before_it_is_read_whole(db, kg, settings):
    """A body of any size was read and parsed whole before the record's own limit refused it (a 200 MB one held
    over 1 GB): a body over MAX_BODY_BYTES is 413 as soon as it passes the limit, sent with a length or chunked,
    and nothing is written; a record just under the record limit, every character escaped, still gets through."""
    from kgrec_neo4j.load.read import MAX_LINE_BYTES
    from kgrec_neo4j.serve.api import MAX_BODY_BYTES

    dataset = db.value("MATCH (i:Item) WHERE i.dataset IS NOT NULL RETURN i.dataset LIMIT 1")
    user = kg["users"][0]
    before = _edges(db, user)
    big = b'{"id": "api-big-body", "dataset": "x", "title": "' + b"t" * (MAX_BODY_BYTES + 10) + b'"}'

    def chunks():
        for k in range(0, len(big), 65536):
            yield big[k:k + 65536]

    try:
        with Running(ServiceState(settings, poll_s=5), writes=True, token="write-token", send_token=True) as client:
            for route in ("/items", f"/users/{user}/interactions"):
                r = client.post(route, content=big, headers={"Content-Type": "application/json"})
                assert r.status_code == 413 and "error" in r.json(), (route, r.text)
                r = client.post(route, content=chunks(), headers={"Content-Type": "application/json"})
                assert r.status_code == 413 and "error" in r.json(), (route, r.text)
            # escaped as \uXXXX, a record of 0.9 MB is 2.7 MB as sent: under the body limit, read and stored
            text = ["é" * 4500] * 100  # (é: two bytes of UTF-8, six escaped: json.dumps escapes it)
            sent = json.dumps({"id": "api-big-body", "dataset": dataset, "description": text}).encode()
            assert MAX_LINE_BYTES < len(sent) < MAX_BODY_BYTES
            r = client.post("/items", content=sent, headers={"Content-Type": "application/json"})
            assert r.status_code == 201, r.text[:300]
        assert db.value("MATCH (i:Item {id: 'api-big-body'}) RETURN i.description") == text
        assert _edges(db, user) == before
    finally:
        db.write("MATCH (i:Item {id: 'api-big-body'}) DETACH DELETE i")


def test_a_misspelled_field_of_a_posted_body_is_400_and_nothing_is_written(db, kg, settings):
    """POST /users/{user}/interactions with {"item": ..., "ratng": 1} recorded an implicit interaction, the rating
    silently dropped (and POST /items with "descripton" left the stored description as it was): an unknown field
    is 400 naming it, and nothing is written."""
    user = kg["users"][3]
    before = _edges(db, user)
    item = db.query("MATCH (i:Item) WHERE i.dataset IS NOT NULL RETURN i.id AS i, i.dataset AS d ORDER BY i.id "
                    "LIMIT 1")[0]
    stored = db.query("MATCH (i:Item {id: $i}) RETURN i.description AS d, i.current_text_hash AS h", i=item["i"])
    try:
        with Running(ServiceState(settings, poll_s=5), writes=True, token="write-token", send_token=True) as client:
            r = client.post(f"/users/{user}/interactions", json={"item": before[0]["item"], "ratng": 1})
            assert r.status_code == 400 and r.json()["field"] == "ratng", r.text
            assert "ratng" in r.json()["error"]
            r = client.post("/items", json={"id": item["i"], "dataset": item["d"], "descripton": ["changed"]})
            assert r.status_code == 400 and r.json()["field"] == "descripton", r.text
    finally:
        db.write("MATCH (:User {id: $u})-[x:INTERACTED]->() WHERE x.seq > $last DELETE x", u=user,
                 last=max(e["seq"] for e in before))
    assert _edges(db, user) == before
    assert db.query("MATCH (i:Item {id: $i}) RETURN i.description AS d, i.current_text_hash AS h",
                    i=item["i"]) == stored


def test_a_blank_id_is_400_and_nothing_is_written(db, kg, settings):
    """POST /users/%20/interactions created a user whose id is a space, and POST /items with {"id": "  "} an item
    whose id is two: ids that `kgrec load` refuses ("field 'user_id' is empty"). A blank id is 400 naming the
    field, and nothing is written; so is an id with spaces around it."""
    user = kg["users"][3]
    before = _edges(db, user)
    item = db.query("MATCH (i:Item) WHERE i.dataset IS NOT NULL RETURN i.id AS i, i.dataset AS d ORDER BY i.id "
                    "LIMIT 1")[0]
    blank = "MATCH (n) WHERE (n:User OR n:Item OR n:Dataset) AND trim(coalesce(n.id, n.name, 'x')) = '' RETURN count(n)"
    assert db.value(blank) == 0
    with Running(ServiceState(settings, poll_s=5), writes=True, token="write-token", send_token=True) as client:
        for route, body, field in ((f"/users/{user}/interactions", {"item": "  "}, "item"),
                                   ("/users/%20%20/interactions", {"item": item["i"]}, "user"),
                                   ("/items", {"id": " ", "dataset": item["d"], "title": "blank"}, "id"),
                                   ("/items", {"id": "api-blank-dataset", "dataset": " "}, "dataset"),
                                   # spaces around an id: another id than the one without them (load refuses it too)
                                   (f"/users/{user}%20/interactions", {"item": item["i"]}, "user"),
                                   ("/items", {"id": "api-spaced ", "dataset": item["d"], "title": "spaced"}, "id")):
            r = client.post(route, json=body)
            assert r.status_code == 400 and r.json()["field"] == field, (route, r.text)
        # the reads too (they answered 404 "unknown user(s): ' '")
        for route, field in (("/users/%20/recommendations", "user"), (f"/users/{user}/items/%20/explanation", "item"),
                             (f"/users/%20/items/{item['i']}/explanation", "user")):
            r = client.get(route)
            assert r.status_code == 400 and r.json()["field"] == field and "blank" in r.json()["error"], (route, r.text)
    assert db.value(blank) == 0
    assert _edges(db, user) == before
    assert db.value("MATCH (n) WHERE n.id IN [$u, 'api-spaced '] RETURN count(n)", u=user + " ") == 0


def test_a_timestamp_neo4j_cannot_store_is_400_and_nothing_is_written(db, kg, settings):
    """POST /users/{user}/interactions with a timestamp of 2**63 or more was a plain-text 500 (OverflowError in the
    driver): it is 400 naming the field, and the largest one Neo4j stores is recorded."""
    user = kg["users"][3]
    before = _edges(db, user)
    try:
        with Running(ServiceState(settings, poll_s=5), writes=True, token="write-token", send_token=True) as client:
            for ts in (2**63, 10**30):
                r = client.post(f"/users/{user}/interactions", json={"item": before[0]["item"], "timestamp": ts})
                assert r.status_code == 400 and r.json()["field"] == "timestamp", r.text
            assert _edges(db, user) == before
            r = client.post(f"/users/{user}/interactions", json={"item": before[0]["item"], "timestamp": 2**63 - 1})
            assert r.status_code == 201, r.text
            assert _edges(db, user)[-1]["ts"] == 2**63 - 1
    finally:
        db.write("MATCH (:User {id: $u})-[x:INTERACTED]->() WHERE x.seq > $last DELETE x", u=user,
                 last=max(e["seq"] for e in before))
    assert _edges(db, user) == before


def test_a_body_that_is_not_json_is_400_saying_so(db, kg, settings):
    """A POST whose body is not JSON was answered {"error": "0: JSON decode error", "field": "0"}: the character
    position of the decoder as a field name. It says the body is not valid JSON and names no field."""
    user = kg["users"][3]
    before = _edges(db, user)
    with Running(ServiceState(settings, poll_s=5), writes=True, token="write-token", send_token=True) as client:
        for route in (f"/users/{user}/interactions", "/items"):
            r = client.post(route, content=b'{"item": ', headers={"Content-Type": "application/json"})
            assert r.status_code == 400, r.text
            assert "not valid JSON" in r.json()["error"] and "field" not in r.json(), r.text
            # valid JSON sent as text or without a content type is not read as JSON: it said only "request: Input
            # should be a valid dictionary or object to extract fields from"
            for headers in ({"Content-Type": "text/plain"}, {}):
                r = client.post(route, content=b'{"item": "x", "id": "x"}', headers=headers)
                assert r.status_code == 400 and "Content-Type: application/json" in r.json()["error"], r.text
                assert ("text/plain" if headers else "without a Content-Type") in r.json()["error"], r.text
            r = client.post(route, json=[{"item": "x"}])
            assert r.status_code == 400 and "is a list" in r.json()["error"] and "one JSON object" in r.json()["error"]
            r = client.post(route, content=b"", headers={"Content-Type": "application/json"})
            assert r.status_code == 400 and "the request body is empty" in r.json()["error"], r.text
    assert _edges(db, user) == before


def test_a_service_that_writes_needs_a_token(settings, monkeypatch):
    from kgrec_neo4j.core.errors import ConfigError
    from kgrec_neo4j.serve.api import TOKEN_ENV, bind_token

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert bind_token("127.0.0.1") is None  # reading on loopback: no token needed
    with pytest.raises(ConfigError, match="--writes"):
        bind_token("127.0.0.1", writes=True)
    with pytest.raises(ConfigError, match="needs a token"):
        create_app(ServiceState(settings), writes=True)
    monkeypatch.setenv(TOKEN_ENV, "t0ken")
    assert bind_token("127.0.0.1", writes=True) == "t0ken"


def test_the_token_is_enforced(db, kg, settings):
    with Running(ServiceState(settings, poll_s=5), token="s3cret-token") as client:
        user = kg["users"][0]
        r = client.get(f"/users/{user}/recommendations")
        assert r.status_code == 401 and "a valid token is required" in r.json()["error"], r.text  # JSON as every error
        assert client.get(f"/users/{user}/recommendations",
                          headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get(f"/users/{user}/recommendations", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        assert client.get(f"/users/{user}/recommendations",
                          headers={"Authorization": "bearer s3cret-token"}).status_code == 200  # (any case, RFC 6750)
        # the token without its scheme was taken for the token itself
        assert client.get(f"/users/{user}/recommendations",
                          headers={"Authorization": "s3cret-token"}).status_code == 401
        # the token is checked before anything else is read: a body that is not JSON, a misspelled parameter or an
        # unknown route tell a caller without the token nothing but 401 (the body was a 400 saying it was not JSON)
        for method, route, kw in (("POST", f"/users/{user}/interactions", {"content": b'{"item": '}),
                                  ("POST", "/items", {"content": b"not json"}),
                                  ("GET", f"/users/{user}/recommendations", {"params": {"kk": 3}}),
                                  ("GET", "/nowhere", {})):
            r = client.request(method, route, headers={"Content-Type": "application/json"}, **kw)
            assert r.status_code == 401 and "a valid token is required" in r.json()["error"], (route, r.text)
        assert client.get("/health").status_code == 200
        assert client.get("/docs").status_code == 200
        api = client.get("/openapi.json")
        assert api.status_code == 200, api.text
        assert api.json()["components"]["securitySchemes"]["HTTPBearer"]["scheme"].lower() == "bearer"
        op = api.json()["paths"]["/users/{user}/recommendations"]["get"]
        assert op["security"] == [{"HTTPBearer": []}], op.get("security")


def test_spaces_around_the_token_are_not_part_of_it(db, kg, settings, monkeypatch):
    """KGREC_SERVE_TOKEN with a trailing newline or space (an env file) was compared whole with the token a request
    sends, which is read without them: every request was 401. A blank one was taken for a token (a service that
    writes, or binds beyond loopback, started and refused every request): it is none."""
    from kgrec_neo4j.core.errors import ConfigError
    from kgrec_neo4j.serve.api import TOKEN_ENV, bind_token

    monkeypatch.setenv(TOKEN_ENV, "s3cret-token \n")
    token = bind_token("127.0.0.1", writes=True)
    with Running(ServiceState(settings, poll_s=5), token=token) as client:
        user = kg["users"][0]
        ok = client.get(f"/users/{user}/recommendations", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200, ok.text
        assert client.get(f"/users/{user}/recommendations").status_code == 401
    monkeypatch.setenv(TOKEN_ENV, "  ")
    with pytest.raises(ConfigError, match="--writes"):
        bind_token("127.0.0.1", writes=True)
    with pytest.raises(ConfigError, match="KGREC_SERVE_TOKEN"):
        bind_token("0.0.0.0")
    with pytest.raises(ConfigError, match="needs a token"):
        create_app(ServiceState(settings), token=" ", writes=True)


def test_a_token_no_request_can_send_is_refused_at_start(settings, monkeypatch):
    """KGREC_SERVE_TOKEN with a character outside ASCII was taken, and no request could match it (a header's bytes
    are read as Latin-1: `Bearer pässwort` sent in UTF-8 is another text), so every request was 401, its error
    saying only that a valid token is required. Such a token is refused when the service starts, saying why."""
    from fastapi.testclient import TestClient

    from kgrec_neo4j.core.errors import ConfigError
    from kgrec_neo4j.serve.api import TOKEN_ENV, bind_token

    monkeypatch.setenv(TOKEN_ENV, "pässwort")
    with pytest.raises(ConfigError, match="ASCII"):
        bind_token("127.0.0.1", writes=True)
    with pytest.raises(ConfigError, match="ASCII"):
        create_app(ServiceState(settings), token="pässwort")
    # an ASCII token with any printable character is matched (the gate answers before any route: 404, not 401)
    client = TestClient(create_app(ServiceState(settings), token="s3cret+/=~"))
    assert client.get("/nowhere", headers={"Authorization": "Bearer s3cret+/=~"}).status_code == 404
    assert client.get("/nowhere", headers={"Authorization": "Bearer s3cret"}).status_code == 401


def test_binding_beyond_loopback_needs_a_token(settings, monkeypatch):
    from kgrec_neo4j.core.errors import ConfigError

    monkeypatch.delenv("KGREC_SERVE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="KGREC_SERVE_TOKEN"):
        serve(settings, host="0.0.0.0", port=free_port())
    # the command refuses before it says it serves (it printed "serving on http://0.0.0.0:..." first)
    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    r = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", str(free_port())])
    assert r.exit_code == 1 and "KGREC_SERVE_TOKEN" in r.output and "serving on" not in r.output, r.output


def test_a_port_that_is_taken_is_refused_before_anything_is_loaded(monkeypatch):
    """`kgrec serve --port P` with P taken printed "serving on http://127.0.0.1:P", loaded the run, then failed in
    uvicorn (exit 3): the port is bound first, and a taken one is an error naming it, before anything is said or
    loaded."""
    import socket

    from click.testing import CliRunner

    from kgrec_neo4j.cli import cli

    def no_load(self):
        raise AssertionError("the run was loaded before the port was bound")

    monkeypatch.setattr(ServiceState, "start", no_load)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(cli, ["serve", "--port", str(port)])
    assert r.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in r.output, r.output
    assert "serving on" not in r.output


def test_a_port_another_service_bound_while_it_loads_is_refused():
    """Two `kgrec serve --port P` started together: each bound P (SO_REUSEADDR lets two sockets bind one port while
    neither listens, and uvicorn listened only after the run was loaded), both said "serving on", and the second
    failed in uvicorn once its run was loaded (exit 3). The port is listened on when it is bound, so the second is
    refused at once."""
    from kgrec_neo4j.core.errors import ConfigError
    from kgrec_neo4j.serve.api import listen

    first = listen("127.0.0.1", 0)  # the first service, still loading its run
    port = first.getsockname()[1]
    try:
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            listen("127.0.0.1", port).close()
    finally:
        first.close()


def test_localhost_is_bound_on_ipv4_as_uvicorn_binds_it(monkeypatch):
    """`kgrec serve --host localhost` bound the first address the resolver gave, ::1 where the hosts file names
    localhost for IPv6 too (Fedora, macOS): a client of http://127.0.0.1 was refused, where uvicorn, which bound it
    before, takes IPv4 for a host without ':'. The family is uvicorn's again."""
    import socket

    from kgrec_neo4j.serve.api import listen

    real = socket.getaddrinfo

    def ipv6_first(host, port, *args, **kw):
        if host == "localhost":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", ipv6_first)
    sock = listen("localhost", 0)
    try:
        assert sock.family == socket.AF_INET and sock.getsockname()[0] == "127.0.0.1", sock
    finally:
        sock.close()
    # a host name that does not resolve is no port to change
    from kgrec_neo4j.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"no-such-host\.invalid:0: .*\(check --host\)"):
        listen("no-such-host.invalid", 0)


def _make_current_run(db, run: str, rng) -> None:
    """A second servable run (random 16-d vectors, no layers) written back and made current, as training does."""
    from kgrec_neo4j.model import runs, writeback
    from kgrec_neo4j.model.foldin import FoldIn

    runs.create_run(db, run, model="ours", config={}, dataset=None)
    writeback.write_foldin_params(db, run, FoldIn(dim=16, ui_layers=0), min_confidence=0.0)
    items = db.value("MATCH (i:Item) RETURN collect(i.id)")
    rows = [{"id": i, "embedding": rng.normal(size=16).tolist(), "foldin": rng.normal(size=16).tolist(),
             "degree": 0} for i in items]
    writeback._write(db, "embeddings_item", rows, run=run, batch_size=50, progress=None)
    users_all = db.value("MATCH (u:User) RETURN collect(u.id)")
    rows = [{"id": u, "embedding": (e := rng.normal(size=16).tolist()), "ego": e} for u in users_all]
    writeback._write(db, "embeddings_user", rows, run=run, batch_size=50, progress=None)
    runs.finish_run(db, run, metrics={})
    runs.set_current(db, run)
    writeback.clear_stale(db, run)


def test_a_new_current_run_is_picked_up_without_dropping_requests(service, db, kg):
    """Requests run while a second run becomes current: every answer is 200 and names one of the two runs,
    answers of the new run are its own scores, and the old run's answers stay its own (no mix)."""
    new = "run-api-switch"
    users = kg["users"][:6]
    stop = threading.Event()
    answers: list[tuple[int, dict]] = []

    def hammer() -> None:
        while not stop.is_set():
            for u in users:
                r = service.get(f"/users/{u}/recommendations", params={"k": 5})
                answers.append((r.status_code, r.json()))

    t = threading.Thread(target=hammer)
    t.start()
    try:
        _make_current_run(db, new, np.random.default_rng(1))
        deadline = time.monotonic() + 60
        while service.get("/health").json().get("run") != new:
            assert time.monotonic() < deadline, "the service did not switch to the new run"
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        stop.set()
        t.join()
    assert answers and all(code == 200 for code, _ in answers), [a for a in answers if a[0] != 200][:3]
    seen = {body["run"] for _, body in answers}
    assert seen == {RUN, new}, seen
    # the answers of each run are that run's own scores (the fixture run and the new one differ)
    m_new = S.run_model(db, new)
    for _, body in answers:
        if body["run"] == new:
            st, _ = S.read_users(db, [body["user"]], m_new)
            want = S.scores(m_new, st)[0]
            for it in body["items"]:
                assert it["score"] == pytest.approx(float(want[m_new.index[it["item"]]]), rel=1e-4, abs=1e-4)


def test_no_current_run_is_503_not_the_last_run_from_memory(service, db, kg):
    """The runs went away under a running service (`kgrec demo --fresh` cleared the database): /health said 503 while
    recommendations went on from the run in memory, explained from a graph without its links. Once the watcher finds
    no current run, every answer that scores is 503, until a run is current again."""
    user = kg["users"][0]
    item = db.value("MATCH (:User {id: $u})-[:INTERACTED]->(i:Item) RETURN i.id ORDER BY i.id LIMIT 1", u=user)
    assert service.get(f"/users/{user}/recommendations").status_code == 200
    current = db.value("MATCH (r:ModelRun {current: true}) RETURN collect(r.id)")
    db.write("MATCH (r:ModelRun {current: true}) SET r.current = false")
    try:
        deadline = time.monotonic() + 30
        while (r := service.get(f"/users/{user}/recommendations")).status_code == 200:
            assert time.monotonic() < deadline, "the service went on answering without a current run"
            time.sleep(0.1)
        assert r.status_code == 503 and "no current model run" in r.json()["error"], r.text
        assert service.get(f"/users/{user}/items/{item}/explanation").status_code == 503
        assert service.post("/recommendations", json={"history": [item]}).status_code == 503
        assert service.get("/health").status_code == 503
    finally:
        db.write("MATCH (r:ModelRun) WHERE r.id IN $ids SET r.current = true", ids=current)
    deadline = time.monotonic() + 30
    while service.get(f"/users/{user}/recommendations").status_code != 200:
        assert time.monotonic() < deadline, "the service did not answer again once a run was current"
        time.sleep(0.1)


def test_a_run_current_again_is_not_answered_by_the_dropped_one_while_it_loads(settings, monkeypatch):
    """Once a run was current again the watcher cleared the refusal before loading it: while the new run loaded,
    requests were answered by the run the graph had dropped. The refusal now holds until the new run is loaded."""
    from types import SimpleNamespace

    from kgrec_neo4j.serve import api

    def none_current(db):
        raise api.RecommendError("no current model run: got no (:ModelRun {current: true})")

    def loading(*args, **kwargs):
        raise RuntimeError("the new run is still loading")

    state = ServiceState(settings, poll_s=3600)  # (not started: the test calls the watcher's refresh)
    try:
        state.model = SimpleNamespace(run="dropped", version=0)
        monkeypatch.setattr(api, "current_run_version", none_current)
        with pytest.raises(api.RecommendError):
            state.refresh()
        monkeypatch.setattr(api, "current_run_version", lambda db: ("new", 0))
        monkeypatch.setattr(api, "run_model", loading)
        with pytest.raises(RuntimeError):
            state.refresh()
        with pytest.raises(api.RecommendError, match="no current model run.*answered with run dropped"):
            state.serving_model()
        monkeypatch.setattr(api, "run_model", lambda *args, **kwargs: SimpleNamespace(run="new", version=0))
        state.refresh()
        assert state.serving_model().run == "new"
    finally:
        state.stop()


def test_neo4j_down_is_503_and_the_service_recovers(tmp_path_factory, caplog):
    """A private Neo4j is stopped under the running service: requests answer 503 at once, then 200 again once
    Neo4j is back, without restarting the service. A request's transaction is tried three times (about 3 s, as
    docs/serving.md says): with a retry window of 3 s the driver often tried a fourth time, 7 s in."""
    from _kg_fixture import build

    from kgrec_neo4j.core import schema
    from kgrec_neo4j.core.config import load_settings
    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.local import neo4j_server as server

    home = tmp_path_factory.mktemp("neo4j-api")
    password = "api-test-password"
    uri, bolt, http = start_private_neo4j(home, password)
    try:
        s = load_settings(environ=dict(os.environ, NEO4J_URI=uri, NEO4J_PASSWORD=password))
        with connect(s, wait_s=60) as db:
            schema.apply(db, schema.load_pack("video_games"), dim=s.embedding_dim)
            facts = build(db)
        user = facts["users"][0]
        S.clear_cache()
        with Running(ServiceState(s, poll_s=0.5)) as client:
            assert client.get(f"/users/{user}/recommendations").status_code == 200
            server.stop(home)
            t0 = time.monotonic()
            down = client.get(f"/users/{user}/recommendations")
            assert down.status_code == 503 and "Neo4j" in down.json()["error"]
            assert "kgrec db start" not in down.json()["error"]  # (the operator's fix is no client's)
            assert time.monotonic() - t0 < 30
            for _ in range(3):  # a lost server is waited for by quick looks (db.py), not by the driver's retries
                caplog.clear()
                with caplog.at_level(logging.WARNING, logger="neo4j"):
                    assert client.get("/health").status_code == 503
                retries = [r for r in caplog.records if "will be retried" in r.getMessage()
                           and r.threadName != "kgrec-run-watcher"]
                assert retries == [], [r.getMessage() for r in retries]
            server.start(home, bolt_port=bolt, http_port=http, password=password, heap="1g", pagecache="256m",
                         progress=lambda s: None)
            t1 = time.monotonic()
            while (r := client.get(f"/users/{user}/recommendations")).status_code != 200:
                assert time.monotonic() - t1 < 120, r.text
                time.sleep(0.5)
            assert r.json()["run"] == RUN
            # it still follows the graph after the restart: a run made current now is picked up
            with connect(s) as db:
                _make_current_run(db, "run-after-restart", np.random.default_rng(2))
            deadline = time.monotonic() + 60
            while (h := client.get("/health").json()).get("run") != "run-after-restart":
                assert time.monotonic() < deadline, f"after a Neo4j restart the service kept its run: {h}"
                time.sleep(0.2)
            assert client.get(f"/users/{user}/recommendations").json()["run"] == "run-after-restart"
    finally:
        server.stop(home)
        S.clear_cache()


def test_records_of_one_new_item_at_once_are_written_one_after_the_other(db, kg):
    """Two records of one new item at once both found no item, both answered 201 `new_item: true`, and the later
    one wrote its text over the earlier's (a field the earlier sent and the later did not was lost): the item's
    node is merged before it is checked, so the second record waits for the first and sees it."""
    from kgrec_neo4j.serve.record import ItemIn, record_item

    dataset = db.value("MATCH (i:Item) WHERE i.dataset IS NOT NULL RETURN i.dataset LIMIT 1")
    fields = [("title", "A racing game"), ("brand", "Studio"), ("features", ["co-op"]), ("description", ["fast"]),
              ("categories", ["Games"]), ("title", "A racing game")]
    ids = [f"api-race-{n}" for n in range(6)]
    try:
        for item in ids:
            barrier = threading.Barrier(len(fields))
            answers: list = []

            def post(field, value, item=item, barrier=barrier, answers=answers):
                barrier.wait()
                answers.append(record_item(db, ItemIn(id=item, dataset=dataset, **{field: value})))

            threads = [threading.Thread(target=post, args=fv) for fv in fields]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert len(answers) == len(fields)
            assert sum(a.new_item for a in answers) == 1, (item, [a.new_item for a in answers])
            row = db.query("MATCH (i:Item {id: $i}) RETURN i {.dataset, .title, .brand, .features, .description, "
                           ".categories} AS i, count{ (x:Item {id: $i}) } AS n", i=item)[0]
            assert row["n"] == 1
            assert row["i"] == {"dataset": dataset, **dict(fields)}, (item, row)
        # a refused record leaves no node behind (the merge is rolled back with the transaction), nor a mark
        from kgrec_neo4j.serve.record import DatasetClash, UnknownDataset

        with pytest.raises(UnknownDataset):
            record_item(db, ItemIn(id="api-race-none", dataset="no-such-dataset", title="x"))
        assert db.value("MATCH (i:Item {id: 'api-race-none'}) RETURN count(i)") == 0
        db.write("MERGE (:Dataset {name: 'api-race-other'})")
        with pytest.raises(DatasetClash):
            record_item(db, ItemIn(id=ids[0], dataset="api-race-other", title="x"))
        assert db.value("MATCH (i:Item {id: $i}) RETURN i.dataset", i=ids[0]) == dataset
        assert db.value("MATCH (i:Item) WHERE i.record_created IS NOT NULL RETURN count(i)") == 0
    finally:
        db.write("MATCH (d:Dataset {name: 'api-race-other'}) DELETE d")
        db.write("MATCH (i:Item) WHERE i.id IN $ids DETACH DELETE i", ids=ids)


def test_interactions_of_one_new_user_at_once_create_it_once(db, kg):
    """Two interactions of one new user at once both found no user and both answered `new_user: true`; and when
    their items were of two datasets, both passed the dataset check, so the user got an edge into a dataset not its
    own. Whether the user is new, and of the item's dataset, is known under the user's lock."""
    from kgrec_neo4j.serve.record import DatasetClash, InteractionIn, record_interaction

    dataset, items = db.query("MATCH (i:Item) WHERE i.dataset IS NOT NULL WITH i.dataset AS d, i ORDER BY i.id "
                              "WITH d, collect(i.id)[..6] AS items RETURN d, items LIMIT 1")[0].values()
    db.write("MERGE (:Dataset {name: 'api-race-other'}) MERGE (i:Item {id: 'api-race-other-item'}) "
             "SET i.dataset = 'api-race-other'")
    users = [f"api-race-user-{n}" for n in range(4)]
    try:
        for n, user in enumerate(users):
            # the first two rounds: one dataset's items; the others: one request of the other dataset among them
            posts = list(items) if n < 2 else list(items[:5]) + ["api-race-other-item"]
            barrier = threading.Barrier(len(posts))
            answers: list = []

            def post(item, user=user, barrier=barrier, answers=answers):
                barrier.wait()
                try:
                    answers.append(record_interaction(db, user, InteractionIn(item=item, rating=5)))
                except DatasetClash as e:
                    answers.append(e)

            threads = [threading.Thread(target=post, args=(item,)) for item in posts]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert len(answers) == len(posts)
            recorded = [a for a in answers if not isinstance(a, Exception)]
            assert sum(a.new_user for a in recorded) == 1, (user, [a.new_user for a in recorded])
            assert sorted(a.seq for a in recorded) == list(range(len(recorded)))
            own = db.value("MATCH (u:User {id: $u}) RETURN u.dataset", u=user)
            stray = db.value("MATCH (u:User {id: $u})-[:INTERACTED]->(i:Item) WHERE i.dataset <> u.dataset "
                             "RETURN count(*)", u=user)
            assert stray == 0, (user, own, answers)
            of_own = [p for p in posts if (dataset if p in items else "api-race-other") == own]
            assert len(recorded) == len(of_own), (user, own, answers)  # the others are 409
    finally:
        db.write("MATCH (u:User) WHERE u.id IN $users DETACH DELETE u", users=users)
        db.write("MATCH (i:Item {id: 'api-race-other-item'}) DETACH DELETE i")
        db.write("MATCH (d:Dataset {name: 'api-race-other'}) DELETE d")


def test_refused_credentials_stop_the_service_before_it_says_it_serves(settings, db):
    """`NEO4J_PASSWORD=wrong kgrec serve` said "serving on ..." and logged in again every 2 s, so that the server
    locked the user's logins and every other client (`kgrec status`, a scheduled `kgrec update`) failed with a raw
    AuthenticationRateLimit traceback. The service now stops at once, naming the fix."""
    import subprocess
    import sys

    env = {**os.environ, "NEO4J_PASSWORD": "definitely-wrong-password"}
    try:  # (a service that serves runs until stopped: the timeout is the failure)
        p = subprocess.run([sys.executable, "-m", "kgrec_neo4j", "serve", "--port", str(free_port())], env=env,
                           capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the service ran with refused credentials: {e.stderr}")
    out = p.stdout + p.stderr
    assert p.returncode == 2 and "refused the credentials" in out and "NEO4J_PASSWORD" in out, out
    assert "serving on" not in out and "definitely-wrong" not in out


def test_a_service_does_not_log_in_again_at_once_with_refused_credentials(monkeypatch, settings):
    from kgrec_neo4j.core.errors import CredentialsRefused
    from kgrec_neo4j.serve import api

    calls = []

    def refused(*args, **kw):
        calls.append(1)
        raise CredentialsRefused("refused")

    monkeypatch.setattr(api, "connect", refused)
    state = ServiceState(settings)
    for _ in range(3):
        with pytest.raises(CredentialsRefused):
            _ = state.db
    assert len(calls) == 1  # a request while refused answers with the error, without a login
    state.refused_wait_s = 0.0
    with pytest.raises(CredentialsRefused):
        _ = state.db
    assert len(calls) == 2


def test_locked_logins_are_an_error_naming_the_cause(settings, db):
    """Logins locked after failed ones (the server's AuthenticationRateLimit) were a raw ClientError traceback in
    every command; they are an error that says what locks them and what to do."""
    import dataclasses

    from kgrec_neo4j.core.db import connect
    from kgrec_neo4j.core.errors import CredentialsRefused

    wrong = dataclasses.replace(settings, neo4j_password="definitely-wrong-password")
    said = []
    try:
        for _ in range(6):  # the server locks the user after 3 failed logins (dbms.security.auth_max_failed_attempts)
            with pytest.raises(CredentialsRefused) as e:
                connect(wrong)
            said.append(str(e.value))
    finally:
        time.sleep(6)  # the lock (dbms.security.auth_lock_time, 5 s) is over before the next test logs in
    assert "refused the credentials" in said[0]
    assert any("refuses logins of user 'neo4j' for a few seconds after too many failed ones" in s for s in said), said
    assert all("definitely-wrong" not in s for s in said)


def test_a_visitor_who_is_no_user_gets_a_list_from_the_history_posted(service, db, kg):
    """POST /recommendations: an anonymous session scored from the items in the body, on a read-only service; it
    answers as a stored user with the same interactions would be answered, and writes nothing."""
    items = kg["train"][kg["users"][0]][:3]
    counts = "MATCH (n) RETURN count(n) AS n, COUNT { ()-->() } AS r"
    before = db.query(counts)
    r = service.post("/recommendations", json={"history": [items[0], {"item": items[1], "rating": 5},
                                                           {"item": items[2]}], "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == "(session)" and body["run"] == service.get("/health").json()["run"]
    assert body["source"] == "model"
    assert len(body["items"]) == 5 and not {it["item"] for it in body["items"]} & set(items)
    assert body["interactions"] == 3
    db.write("CREATE (u:User {id: 'session-twin'}) WITH u UNWIND range(0, size($items) - 1) AS k "
             "MATCH (i:Item {id: $items[k]}) CREATE (u)-[:INTERACTED {seq: k, split: 'train', rating: 5.0}]->(i)",
             items=items)
    try:
        twin = service.get("/users/session-twin/recommendations", params={"k": 5}).json()
        assert [(it["item"], round(it["score"], 4)) for it in twin["items"]] == \
            [(it["item"], round(it["score"], 4)) for it in body["items"]]
    finally:
        db.write("MATCH (u:User {id: 'session-twin'}) DETACH DELETE u")
    assert db.query(counts) == before
    bad = service.post("/recommendations", json={"history": [items[0], "no-such-item"]})
    assert bad.status_code == 404 and "'no-such-item'" in bad.json()["error"], bad.text
    for body, field in (({"history": []}, "history"), ({"history": [items[0]], "k": 0}, "k"),
                        ({"history": [{"item": items[0], "rating": 9}]}, "history.0.rating"),
                        ({"history": [items[0]], "kk": 3}, "kk"),
                        # an object's own field is named (it was "history.0.str: Input should be a valid string")
                        ({"history": [{"item": items[0], "ratng": 5}]}, "history.0.ratng"),
                        ({"history": [{"item": items[0], "rating": True}]}, "history.0.rating"),
                        ({"history": [items[0]], "k": "3"}, "k"), ({"history": [items[0]], "allow_repeats": "yes"},
                                                                   "allow_repeats")):
        r = service.post("/recommendations", json=body)
        assert r.status_code == 400 and r.json().get("field") == field, (body, r.text)
