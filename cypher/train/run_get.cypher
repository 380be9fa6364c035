// Runs, newest first ($id null: all; $current_only: only the current one).
MATCH (r:ModelRun)
WHERE ($id IS NULL OR r.id = $id) AND (NOT $current_only OR r.current = true)
RETURN r.id AS id, toString(r.created) AS created, r.model AS model, r.config AS config, r.metrics AS metrics,
       r.dataset AS dataset, r.status AS status, coalesce(r.current, false) AS current,
       toString(r.finished) AS finished, r.error AS error, r.item_link_weight AS item_link_weight,
       r.item_link_dislike_value AS item_link_dislike_value
ORDER BY r.created DESC
