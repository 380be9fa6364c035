// Review text of the items' TRAINING interactions only (valid/test reviews must not reach item knowledge).
UNWIND $ids AS id
MATCH (i:Item {id: id})<-[r:INTERACTED]-(:User)
WHERE r.split = 'train' AND r.review_text IS NOT NULL AND r.review_text <> ''
WITH id, r ORDER BY r.timestamp, r.seq
WITH id, collect(coalesce(r.review_title + '. ', '') + r.review_text) AS reviews
RETURN id AS item_id, reviews[..$max_reviews] AS reviews
