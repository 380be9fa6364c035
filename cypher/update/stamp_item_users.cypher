// The knowledge of the items $ids changed: stamp the users with a train interaction on them with $ingest, so that
// their interests are computed again (interests read train interactions only, or every one with $every_split:
// interests for serving). Never lowers a stamp.
UNWIND $ids AS id
MATCH (:Item {id: id})<-[x:INTERACTED]-(u:User)
WHERE coalesce(x.split, 'train') = 'train' OR $every_split
WITH DISTINCT u
SET u.ingest = CASE WHEN coalesce(u.ingest, 0) > $ingest THEN u.ingest ELSE $ingest END
RETURN count(u) AS users, collect(u.id) AS ids
