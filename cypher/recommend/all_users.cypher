// The ids of every user (`kgrec recommend --all` scores and stores them all), as one list.
MATCH (u:User)
RETURN collect(u.id) AS ids
