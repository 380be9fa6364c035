// The item links of run $run and their weight in the score (loaded once per process with the item embeddings).
// One row per source item: its targets and weights; plus, on every row, the run's item_link_weight.
MATCH (r:ModelRun {id: $run})
MATCH (a:Item)-[l:ITEM_LINK {run: $run}]->(b:Item)
RETURN a.id AS source, collect(b.id) AS targets, collect(l.weight) AS weights,
       r.item_link_weight AS weight, coalesce(r.item_link_dislike_value, 1.0) AS dislike_value
