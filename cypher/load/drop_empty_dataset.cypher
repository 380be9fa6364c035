// Remove the dataset node $name when nothing of the dataset remains (no user and no item of it: a reload from empty
// files with --yes). Kept when anything still refers to it: a user or an item of the dataset, or an edge to the
// node. (Runs record the names of the datasets they trained on as text, and the loader re-creates the node.)
MATCH (d:Dataset {name: $name})
WHERE NOT EXISTS { MATCH (u:User) WHERE u.dataset = $name }
  AND NOT EXISTS { MATCH (i:Item) WHERE i.dataset = $name }
  AND NOT EXISTS { (d)--() }
DELETE d
