// The edges of $users (null: of every user) that a load stamped after ingest $since, or, when $unseen, that no
// classification has seen (no kind_source: written by another client), per user as their element ids (what
// `kgrec update` classifies: set_without_text, texts and summary then seek these edges by id instead of scanning the
// users' edges again). The stamped edges come from a range seek on the interacted_ingest index (USING INDEX SEEK: the
// planner otherwise chose a scan of the whole index in some plans; a few thousand of them,
// not every edge of the users they belong to); the users' edges are read only when $unseen (the update counts
// unclassified edges first: update/pending_work).
CALL () {
  MATCH (u:User)-[e:INTERACTED]->(:Item)
  USING INDEX SEEK e:INTERACTED(ingest)
  WHERE e.ingest > $since AND ($users IS NULL OR u.id IN $users)
  RETURN u, e
  UNION
  UNWIND CASE WHEN $unseen THEN coalesce($users, []) ELSE [] END AS uid
  CALL (uid) {
    MATCH (u:User {id: uid})-[e:INTERACTED]->(:Item)
    WHERE e.kind_source IS NULL
    RETURN u, e
  }
  RETURN u, e
  UNION
  UNWIND CASE WHEN $unseen AND $users IS NULL THEN [1] ELSE [] END AS every
  CALL (every) {  // correlated: the scan of every user runs only when that list has its one row, whatever the plan
    MATCH (u:User)-[e:INTERACTED]->(:Item)
    WHERE e.kind_source IS NULL
    RETURN u, e
  }
  RETURN u, e
}
RETURN u.id AS user, collect(elementId(e)) AS edges
