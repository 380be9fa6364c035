// Users of other datasets than $dataset (a run trained with --dataset becomes the one current run of the graph).
MATCH (u:User) WHERE u.dataset IS NULL OR u.dataset <> $dataset
RETURN count(u) AS users, collect(DISTINCT coalesce(u.dataset, '(none)'))[0..5] AS datasets
