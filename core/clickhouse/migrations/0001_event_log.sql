-- Raw records: the event log, customs commands and decisions, plus the keys the sink has already written.
-- ${db} is replaced by the validated database name; everything else is plain ClickHouse SQL.
-- Statements end with a semicolon at the end of a line (the runner splits there: HTTP takes one per request).

-- The event log. ORDER BY serves the most frequent question, "what happened to this container", as one
-- contiguous range in time order; the projections give vessel visits and terminals their own sort order so
-- those reads are range scans too. event_id ends every key so equal times stay deterministic.
-- ReplacingMergeTree on the key is a second line of defence against duplicates (the sink already skips
-- event ids it has written, see sink_keys); read with FINAL where an exact count matters.
-- Monthly partitions: time-range queries prune whole months and TTL drops whole parts.
CREATE TABLE IF NOT EXISTS ${db}.events
(
    event_id String,
    event_time DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    classifier LowCardinality(String),
    un_locode LowCardinality(String),
    terminal_code LowCardinality(String),
    kind LowCardinality(String),
    event_type LowCardinality(String),
    container_number String,
    iso_size_type LowCardinality(String),
    empty_indicator LowCardinality(String),
    seals Array(String),
    imo_number String,
    vessel_name String,
    voyage String,
    yard_block String,
    yard_bay UInt16,
    yard_row UInt16,
    yard_tier UInt16,
    truck_plate String,
    transport_location LowCardinality(String),
    berth String,
    manifest_container_numbers Array(String),
    source String,
    stream_seq UInt64,
    PROJECTION by_visit (SELECT * ORDER BY imo_number, voyage, event_time, event_id),
    PROJECTION by_terminal (SELECT * ORDER BY un_locode, terminal_code, event_time, event_id)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (container_number, event_time, event_id)
-- Two years of history answers year-on-year questions; older months go as whole partitions.
TTL toDateTime(event_time) + INTERVAL 2 YEAR
SETTINGS non_replicated_deduplication_window = 1000, deduplicate_merge_projection_mode = 'rebuild';

-- Customs commands as received (submit, amend, cancel, inspection result), one row per command.
-- Keyed by declaration so a declaration's history is one range; declarations are legal records and kept
-- five years (the customs record-keeping period), so the TTL is long and the partitions monthly.
CREATE TABLE IF NOT EXISTS ${db}.declarations
(
    command_id String,
    action LowCardinality(String),
    received_time DateTime64(3, 'UTC'),
    source String,
    declaration_number String,
    declaration_type LowCardinality(String),
    declarant_tax_code String,
    trader_tax_code String,
    trader_name String,
    priority LowCardinality(String),
    hs_codes Array(String),
    goods_items UInt32,
    container_numbers Array(String),
    imo_number String,
    voyage String,
    port_of_loading LowCardinality(String),
    port_of_discharge LowCardinality(String),
    customs_office LowCardinality(String),
    declared_time DateTime64(3, 'UTC'),
    reason String,
    outcome LowCardinality(String),
    inspector String,
    stream_seq UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_time)
ORDER BY (declaration_number, received_time, command_id)
TTL toDateTime(received_time) + INTERVAL 5 YEAR
SETTINGS non_replicated_deduplication_window = 1000;

-- Clearance decisions. The key (declaration, revision, status) identifies a decision: a second copy of the
-- same decision (republished, redelivered) has the same key, so ReplacingMergeTree keeps one.
CREATE TABLE IF NOT EXISTS ${db}.decisions
(
    declaration_number String,
    revision UInt32,
    channel LowCardinality(String),
    status LowCardinality(String),
    rules Array(String),
    rule_set_version LowCardinality(String),
    decided_time DateTime64(6, 'UTC'),
    decision_latency_us UInt64,
    position UInt64,
    note String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(decided_time)
ORDER BY (declaration_number, revision, status)
TTL toDateTime(decided_time) + INTERVAL 5 YEAR
SETTINGS non_replicated_deduplication_window = 1000;

-- Every record key the sink has written, filled by the views below in the same INSERT as the record. The
-- sink looks keys up here before inserting (a primary-key range read) and skips those already present: that
-- is what keeps the rollups exact when an event id comes twice or a message is redelivered after a crash.
-- Kept 30 days: longer than the events stream keeps messages (7 days) plus any redelivery, the only
-- sources of a second copy. Daily partitions let TTL drop whole parts.
CREATE TABLE IF NOT EXISTS ${db}.sink_keys
(
    kind LowCardinality(String),
    key String,
    seen_time DateTime DEFAULT now()
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(seen_time)
ORDER BY (kind, key)
TTL seen_time + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 1000, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.events_keys_mv TO ${db}.sink_keys AS
SELECT 'event' AS kind, event_id AS key FROM ${db}.events;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.declarations_keys_mv TO ${db}.sink_keys AS
SELECT 'declaration' AS kind, command_id AS key FROM ${db}.declarations;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.decisions_keys_mv TO ${db}.sink_keys AS
SELECT 'decision' AS kind, concat(declaration_number, '/', toString(revision), '/', status) AS key
FROM ${db}.decisions;
