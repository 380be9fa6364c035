// One property of one relationship type of the projection, as three aligned lists (one record: far fewer
// Bolt records than one row per edge). concurrency 1 keeps the stream order the same for every property of
// the type; the caller checks it by comparing the target lists.
CALL gds.graph.relationshipProperty.stream($graph_name, $property, [$rel_type], {concurrency: 1})
YIELD sourceNodeId, targetNodeId, propertyValue
RETURN CASE WHEN $with_source THEN collect(sourceNodeId) END AS source,
       collect(targetNodeId) AS target,
       collect(propertyValue) AS value
