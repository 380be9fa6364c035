// Brand and title of every item that has a brand value: the catalogue's makers' names
// (kgrec_neo4j.concepts.variants.maker_names keeps the brand values that name their maker in titles).
// Parameters: none.
MATCH (i:Item) WHERE i.brand IS NOT NULL
RETURN i.brand AS brand, i.title AS title
