-- Every field of an accepted event is kept, so history returns what was accepted: seal sources sit beside
-- the seal numbers (same length, same order), and transport events are found by the containers their
-- manifest lists (a bloom filter skips the granules that do not list the container asked about).
-- ADD ... IF NOT EXISTS keeps the statements idempotent, like the CREATEs before them.

ALTER TABLE ${db}.events ADD COLUMN IF NOT EXISTS seal_sources Array(LowCardinality(String)) AFTER seals;

ALTER TABLE ${db}.events
    ADD INDEX IF NOT EXISTS manifest_containers manifest_container_numbers TYPE bloom_filter(0.01) GRANULARITY 1;
