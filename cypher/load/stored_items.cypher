// The items stored for dataset $dataset, in one pass: `ids` every one; `base` those a load without --append ended
// with (`base_load`, set by load/dataset.cypher: a reload that leaves out the files appended since asks only about
// the others); `recorded` [id, current_text_hash] of those the service recorded (POST /items, `kgrec serve --writes`)
// and no load has written since (cypher/load/items.cypher): they are in no file, so a reload of files without them
// would lose them, and one whose files give them other text would replace the record.
MATCH (i:Item)
WHERE i.dataset = $dataset
RETURN collect(i.id) AS ids, collect(CASE WHEN i.base_load THEN i.id END) AS base,
       collect(CASE WHEN i.recorded IS NOT NULL THEN [i.id, i.current_text_hash] END) AS recorded
