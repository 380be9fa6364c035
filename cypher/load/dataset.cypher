// The dataset node of a load: what was read, its status (loading | loaded) and id prefix; the counts are
// those stored for the dataset now (after a reload or an append, the whole dataset). `sources`: the files of the
// load, after those of the loads it appended to ($append); `appended`: those of the appends since the last load
// without --append (a reload that leaves them out, and would remove rows written after that load, is refused without
// --yes); `base_ingest`: the last ingest number taken when that load ended ($base_ingest, null while it loads), and
// the items of the dataset when it ended are marked `base_load` (items appended later, or recorded by the service,
// are not). `loaded_at`: when a load last changed something ($changed; a load that writes nothing keeps it).
MERGE (d:Dataset {name: $name})
SET d.format = $format, d.loaded_at = CASE WHEN $changed OR d.loaded_at IS NULL THEN datetime() ELSE d.loaded_at END,
    d.status = $status, d.id_prefix = $id_prefix,
    d.sources = CASE WHEN $append THEN [s IN coalesce(d.sources, []) WHERE NOT s IN $sources] + $sources
                     ELSE $sources END,
    d.appended = CASE WHEN $append THEN [s IN coalesce(d.appended, []) WHERE NOT s IN $sources] + $sources
                      ELSE [] END,
    d.base_ingest = CASE WHEN $append OR $base_ingest IS NULL THEN d.base_ingest ELSE $base_ingest END
WITH d
CALL (d) {
  WITH d WHERE NOT $append AND $base_ingest IS NOT NULL
  MATCH (i:Item) WHERE i.dataset = d.name AND i.base_load IS NULL
  SET i.base_load = true
}
CALL (d) {
  MATCH (u:User) WHERE u.dataset = d.name
  RETURN count(u) AS users, sum(coalesce(u.n_interactions, 0)) AS interactions
}
CALL (d) {
  MATCH (i:Item) WHERE i.dataset = d.name
  RETURN count(i) AS items
}
SET d.users = users, d.items = items, d.interactions = interactions
