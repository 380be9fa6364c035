MERGE (d:Dataset {name: $name})
SET d.format = $format, d.sources = $sources, d.loaded_at = datetime(), d.status = $status,
    d.users = $users, d.items = $items, d.interactions = $interactions
