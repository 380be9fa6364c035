// The stored dataset $name, if any: its status (loading | loaded), format and id prefix.
MATCH (d:Dataset {name: $name})
RETURN d.status AS status, d.format AS format, coalesce(d.id_prefix, '') AS id_prefix
