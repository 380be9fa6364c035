// The stored users among $users (an append): their dataset and every interaction as [seq, split, item id, rating,
// timestamp, review_title, review_text], in seq order (an append recognises the rows it finds already stored at the
// end of a history: kgrec_neo4j/load/write.py).
UNWIND $users AS id
MATCH (u:User {id: id})
RETURN u.id AS user, u.dataset AS dataset,
       COLLECT {
         MATCH (u)-[e:INTERACTED]->(i:Item)
         RETURN [e.seq, e.split, i.id, e.rating, e.timestamp, e.review_title, e.review_text] AS edge ORDER BY e.seq
       } AS edges
