// What serving needs to fold users in with run $run's propagation (kgrec_neo4j/model/foldin.py):
// $foldin the small trained parameters (JSON), $min_confidence the edge confidence the export kept.
MATCH (r:ModelRun {id: $run})
SET r.foldin = $foldin, r.min_confidence = $min_confidence
