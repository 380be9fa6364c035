// Users whose stored history holds more than one valid or more than one test interaction, which no load writes (an
// append killed between its rows and their new splits, before 2026-12-03, left such histories): how many, and a
// few of them with their datasets. `kgrec doctor` reports them; `kgrec interactions split` (or running the append
// again) splits them again.
MATCH (u:User)
WHERE COUNT { (u)-[:INTERACTED {split: 'test'}]->() } > 1 OR COUNT { (u)-[:INTERACTED {split: 'valid'}]->() } > 1
WITH u ORDER BY u.id
RETURN count(u) AS users, collect(u.id)[0..3] AS some, collect(DISTINCT u.dataset) AS datasets
