// Titles and embeddings of items of run $run (why-not look-ups).
UNWIND $items AS item_id
OPTIONAL MATCH (i:Item {id: item_id})
RETURN item_id AS id, i IS NOT NULL AS found, coalesce(i.title, i.id) AS title
