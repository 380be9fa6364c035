// `kgrec status`: the last completed update run (its id, when it finished, the ingest number it covered).
MATCH (r:UpdateRun {status: 'complete'})
RETURN r.id AS id, toString(r.finished) AS finished, r.ingest AS ingest
ORDER BY r.finished DESC LIMIT 1
