// Which of $ids exist as (:User).
UNWIND $ids AS id
MATCH (u:User {id: id})
RETURN collect(u.id) AS found
