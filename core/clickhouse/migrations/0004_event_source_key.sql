-- Event ids are unique per source (the caller that sent the event), not across the port: two operators may
-- send the same id. The sink's key and the ReplacingMergeTree key of `events` therefore include the source.
-- ClickHouse extends a sorting key only with a column added in the same ALTER and without a default, so the
-- key gets its own column, `dedupe_source`, which the sink fills with the source; rows written before this
-- migration keep '' there (they were keyed by event id alone). IF NOT EXISTS and a sorting key that is already
-- the new one make the ALTER safe to run again.
ALTER TABLE ${db}.events
    ADD COLUMN IF NOT EXISTS dedupe_source String AFTER stream_seq,
    MODIFY ORDER BY (container_number, event_time, event_id, dedupe_source);

-- sink_keys holds "<source>/<event_id>" for events from now on, exactly as the sink computes it
-- (processor/sink/rows.ts, core/event-key.ts).
DROP VIEW IF EXISTS ${db}.events_keys_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.events_keys_mv TO ${db}.sink_keys AS
SELECT 'event' AS kind, concat(source, '/', event_id) AS key FROM ${db}.events;
