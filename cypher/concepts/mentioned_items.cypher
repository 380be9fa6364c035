// Ids of the items that have at least one mention (the population a vocabulary sample is drawn from).
MATCH (i:Item) WHERE EXISTS { (i)-[:MENTIONS]->(:Mention) }
RETURN i.id AS id
