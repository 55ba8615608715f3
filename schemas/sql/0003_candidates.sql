-- Candidates: find the aliases that point at a candidate (merge re-points them, erasure
-- removes them) without scanning the whole alias table.
CREATE INDEX candidate_aliases_target ON candidate_aliases(candidate_id);
