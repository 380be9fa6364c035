// `kgrec status`: the work `kgrec update` would find, counted without writing (update/pending_work answers the
// same questions with yes or no, with the same conditions: mentions of a type without a vocabulary and items without
// a vector while no run is current are no work of an update). $classified: where the last update left the
// classification; $run: the current model run (null: none). `interactions_since_run`: interactions loaded after the
// run started training (0 for a run older than its `ingest` property), and those recorded live since it was created
// (`recorded`, cypher/interactions/record: no load stamps them with an ingest number).
CALL () { MATCH (i:Item) WHERE i.current_text_hash IS NULL RETURN count(i) AS items_unhashed }
CALL () { MATCH ()-[e:INTERACTED]->() WHERE e.ingest > $classified RETURN count(e) AS interactions_new }
CALL () { MATCH ()-[e:INTERACTED]->(:Item) RETURN count(e) AS edges }
CALL () { MATCH ()-[e:INTERACTED]->() WHERE e.kind_source IS NOT NULL RETURN count(e) AS classified_edges }
CALL () { MATCH (m:Mention) WHERE m.pending IS NULL AND NOT EXISTS { (m)-[:CANONICAL]->(:Concept) }
            AND EXISTS { MATCH (k:KnowledgeType {name: m.type}) WHERE k.concept_acceptance IS NOT NULL }
          RETURN count(m) AS mentions_unprojected }
CALL () { MATCH (i:Item) WHERE $run IS NOT NULL AND i.gnn_run IS NULL RETURN count(i) AS items_without_vector }
CALL () { MATCH (i:Item) WHERE $run IS NOT NULL AND i.gnn_folded_run = $run AND i.gnn_run = $run
          RETURN count(i) AS items_folded }
CALL () { OPTIONAL MATCH (r:ModelRun {id: $run})
          RETURN coalesce(r.version, 0) AS run_version, toString(r.updated_at) AS run_updated, r.ingest AS run_ingest,
                 r.created AS run_created }
CALL (run_ingest) { MATCH ()-[e:INTERACTED]->() WHERE e.ingest > run_ingest RETURN count(e) AS loaded_since_run }
CALL (run_created) { MATCH ()-[e:INTERACTED]->() WHERE e.recorded >= run_created AND e.ingest IS NULL
                     RETURN count(e) AS recorded_since_run }
WITH *, loaded_since_run + recorded_since_run AS interactions_since_run
RETURN run_version, run_updated, run_ingest, interactions_since_run, items_unhashed, interactions_new, edges - classified_edges AS interactions_unclassified,
       mentions_unprojected, items_without_vector, items_folded
