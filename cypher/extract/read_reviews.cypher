// Review text of the items' TRAINING interactions only (valid/test reviews must not reach item knowledge): the
// first $max_reviews (by timestamp, seq) per item, limited inside the subquery, so a very popular item never
// gathers all its reviews in transaction memory.
// Params: $ids (list of Item.id), $max_reviews (int).
UNWIND $ids AS id
MATCH (i:Item {id: id})
CALL (i) {
  MATCH (i)<-[r:INTERACTED]-(:User)
  WHERE coalesce(r.split, 'train') = 'train' AND r.review_text IS NOT NULL AND r.review_text <> ''
  WITH r ORDER BY r.timestamp, r.seq
  LIMIT $max_reviews
  RETURN collect(coalesce(r.review_title + '. ', '') + r.review_text) AS reviews
}
WITH id, reviews WHERE size(reviews) > 0
RETURN id AS item_id, reviews
