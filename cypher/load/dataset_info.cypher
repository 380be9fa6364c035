// The stored dataset $name, if any: its status (loading | loaded), format, id prefix, the files it was loaded from
// (and those of them appended since its last load without --append), and whether it is empty (no
// user and no item of it: what a load that wrote nothing left behind, which a new load may take over whole).
MATCH (d:Dataset {name: $name})
RETURN d.status AS status, d.format AS format, coalesce(d.id_prefix, '') AS id_prefix, d.sources AS sources,
       coalesce(d.appended, []) AS appended, d.base_ingest AS base_ingest,
       NOT EXISTS { MATCH (u:User) WHERE u.dataset = $name } AND NOT EXISTS { MATCH (i:Item) WHERE i.dataset = $name }
         AS empty
