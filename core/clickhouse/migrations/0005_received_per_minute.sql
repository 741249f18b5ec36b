-- Events per minute by receive time (when the gateway accepted them), by terminal and kind: what arrived in
-- the last hour, whatever the events' own times say (a terminal catching up sends days-old events, and
-- planned or estimated ones lie ahead). Every accepted event counts, whatever its classifier. The view sees
-- inserts made after this migration; rows written before it are not back-filled.
CREATE TABLE IF NOT EXISTS ${db}.events_received_per_minute
(
    minute DateTime('UTC'),
    un_locode LowCardinality(String),
    terminal_code LowCardinality(String),
    kind LowCardinality(String),
    event_type LowCardinality(String),
    events UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, un_locode, terminal_code, kind, event_type)
TTL minute + INTERVAL 1 YEAR
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.events_received_per_minute_mv TO ${db}.events_received_per_minute AS
SELECT toStartOfMinute(received_time) AS minute, un_locode, terminal_code, kind, event_type, count() AS events
FROM ${db}.events
GROUP BY minute, un_locode, terminal_code, kind, event_type;
