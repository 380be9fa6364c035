// Kind, sign, kind_source and confidence of INTERACTED edges that a text classifier does not read:
// edges with no review text (or every edge when $with_text is true, i.e. the rating-only classifier).
// Rating -> role (like >= $like_min, dislike <= $dislike_max, else mixed; none -> implicit) -> kind name
// ($names) -> sign ($signs). Confidence: rating_confidence (0.6 at the mixed middle, 1.0 at 1 or 5 stars,
// see kgrec_neo4j/users/confidence.py) or $implicit_confidence. Text fields are cleared of earlier verdicts (and
// failures).
// $edges: the element ids of the edges to classify (interactions/since: a seek each, no scan of the users); null:
// every edge of $users (null: of every user). Each selection is its own branch, entered only when its parameters
// ask for it: a user list is a seek per user by id, never a scan of every user with the list as a filter.
CALL () {
  UNWIND CASE WHEN $edges IS NULL AND $users IS NULL THEN [1] ELSE [] END AS every
  CALL (every) {  // correlated: each branch's match runs once per row of its list, whatever the plan (a planner
    MATCH (u:User)-[e:INTERACTED]->(:Item)  // free to join an uncorrelated match with an empty list could still
    RETURN u, e                             // scan every user first)
  }
  RETURN u, e
  UNION ALL
  UNWIND CASE WHEN $edges IS NULL THEN coalesce($users, []) ELSE [] END AS uid
  CALL (uid) {
    MATCH (u:User {id: uid})-[e:INTERACTED]->(:Item)
    RETURN u, e
  }
  RETURN u, e
  UNION ALL
  UNWIND coalesce($edges, []) AS id
  CALL (id) {
    MATCH (u:User)-[e:INTERACTED]->(:Item)
    WHERE elementId(e) = id
    RETURN u, e
  }
  RETURN u, e
}
WITH u, e
WHERE ($with_text OR (trim(coalesce(e.review_text, '')) = '' AND trim(coalesce(e.review_title, '')) = ''))
WITH e,
     CASE WHEN e.rating IS NULL THEN 'implicit'
          WHEN e.rating >= $like_min THEN 'like'
          WHEN e.rating <= $dislike_max THEN 'dislike'
          ELSE 'mixed' END AS role
WITH e, role, $names[role] AS kind,
     ($like_min + $dislike_max) / 2.0 AS mid
SET e.kind = kind,
    e.sign = $signs[kind],
    e.kind_source = CASE role WHEN 'implicit' THEN 'none' ELSE 'rating' END,
    e.confidence = CASE role WHEN 'implicit' THEN $implicit_confidence
                   ELSE round(0.6 + 0.4 * CASE WHEN abs(e.rating - mid) / (5.0 - mid) > 1.0 THEN 1.0
                                               ELSE abs(e.rating - mid) / (5.0 - mid) END, 4) END
REMOVE e.kind_text, e.text_confidence, e.text_agrees, e.text_error, e.text_error_by, e.text_failed_at
