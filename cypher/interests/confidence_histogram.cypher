// Confidence distribution of one relationship type. $REL is replaced by an allow-listed type name
// (kgrec_neo4j/users/confidence.py checks it) before the query runs; everything else is a parameter.
// For INTERACTED ($only_classified) only edges that `kgrec interactions classify` wrote are counted.
// Histogram bins have width 1/$bins over [0, 1] (1.0 falls in the last bin; out-of-range values are
// clipped into the end bins and counted in out_of_range). Quantiles are nearest-rank.
MATCH ()-[r:$REL]->()
WHERE NOT $only_classified OR r.kind_source IS NOT NULL
WITH r.confidence AS c
ORDER BY c
WITH collect(c) AS cs, count(*) AS edges
WITH edges, cs, size(cs) AS n,
     [c IN cs | CASE WHEN c < 0.0 THEN 0 WHEN c >= 1.0 THEN $bins - 1
                     ELSE toInteger(floor(c * $bins)) END] AS bins_of
RETURN edges, n AS with_confidence,
       size([c IN cs WHERE c < 0.0 OR c > 1.0]) AS out_of_range,
       size([c IN cs WHERE c >= $min_confidence]) AS kept,
       CASE WHEN n = 0 THEN null ELSE reduce(s = 0.0, c IN cs | s + c) / n END AS mean,
       CASE WHEN n = 0 THEN [] ELSE [q IN $qs | cs[toInteger(round(q * (n - 1)))]] END AS quantiles,
       [b IN range(0, $bins - 1) | {bin: b, n: size([x IN bins_of WHERE x = b])}] AS hist
