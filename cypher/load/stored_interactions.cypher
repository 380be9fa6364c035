// Every stored interaction of dataset $dataset's users, per user:
// [seq, item id, rating, timestamp, review_title, review_text, split, recorded by the service (serve --writes),
//  the ingest number of the load that wrote it last (null: written live)].
MATCH (u:User)
WHERE u.dataset = $dataset
RETURN u.id AS user,
       [(u)-[e:INTERACTED]->(i:Item) | [e.seq, i.id, e.rating, e.timestamp, e.review_title, e.review_text, e.split,
                                 e.recorded IS NOT NULL, e.ingest]]
         AS edges
