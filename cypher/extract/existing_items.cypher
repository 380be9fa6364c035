// Which of $ids exist as (:Item).
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN collect(i.id) AS found
