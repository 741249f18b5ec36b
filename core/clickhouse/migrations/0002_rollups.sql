-- Rollups maintained by materialized views on each INSERT into the raw tables. They count plain sums: the
-- sink inserts each record once (see sink_keys in 0001), and an INSERT retried with the same
-- insert_deduplication_token is dropped for these targets too (deduplicate_blocks_in_dependent_materialized_views
-- and a deduplication window on every target). Only ACTUAL events count: planned ones have not happened.

-- Events per minute by terminal and kind: the live throughput chart. Minute buckets by event time.
-- Small rows, so a year is cheap; monthly partitions for TTL.
CREATE TABLE IF NOT EXISTS ${db}.events_per_minute
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

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.events_per_minute_mv TO ${db}.events_per_minute AS
SELECT toStartOfMinute(event_time) AS minute, un_locode, terminal_code, kind, event_type, count() AS events
FROM ${db}.events
WHERE classifier = 'ACTUAL'
GROUP BY minute, un_locode, terminal_code, kind, event_type;

-- Quay moves (LOAD + DISC) and TEU per vessel visit (imo, voyage) and day. Keyed by visit first: "how is
-- this call going" reads one range; per-day totals for a terminal sum over visits. TEU from the ISO 6346
-- length code: 1 = 10 ft (0.5), 2 = 20 ft (1), 3 = 30 ft (1.5), 4 = 40 ft (2), L = 45 ft (2.25).
CREATE TABLE IF NOT EXISTS ${db}.vessel_moves_daily
(
    un_locode LowCardinality(String),
    terminal_code LowCardinality(String),
    imo_number String,
    voyage String,
    day Date,
    moves UInt64,
    loads UInt64,
    discharges UInt64,
    teu Float64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (un_locode, terminal_code, imo_number, voyage, day)
TTL day + INTERVAL 2 YEAR
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.vessel_moves_daily_mv TO ${db}.vessel_moves_daily AS
SELECT
    un_locode, terminal_code, imo_number, voyage, toDate(event_time) AS day,
    count() AS moves,
    countIf(event_type = 'LOAD') AS loads,
    countIf(event_type = 'DISC') AS discharges,
    sum(multiIf(startsWith(iso_size_type, '1'), 0.5, startsWith(iso_size_type, '2'), 1.0,
        startsWith(iso_size_type, '3'), 1.5, startsWith(iso_size_type, '4'), 2.0,
        startsWith(iso_size_type, 'L'), 2.25, 0.0)) AS teu
FROM ${db}.events
WHERE classifier = 'ACTUAL' AND kind = 'equipment' AND event_type IN ('LOAD', 'DISC') AND imo_number != ''
GROUP BY un_locode, terminal_code, imo_number, voyage, day;

-- Clearance per hour: decision latency quantiles and channel shares of risk assessments (decisions without a
-- note; those with one record an inspection outcome or a cancellation). quantiles() keeps a reservoir of
-- 8192 values per state: exact below that, a close estimate above. Kept two years for trend reports.
CREATE TABLE IF NOT EXISTS ${db}.clearance_hourly
(
    hour DateTime('UTC'),
    decisions SimpleAggregateFunction(sum, UInt64),
    green SimpleAggregateFunction(sum, UInt64),
    yellow SimpleAggregateFunction(sum, UInt64),
    red SimpleAggregateFunction(sum, UInt64),
    latency_us AggregateFunction(quantiles(0.5, 0.9, 0.99), UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY hour
TTL hour + INTERVAL 2 YEAR
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.clearance_hourly_mv TO ${db}.clearance_hourly AS
SELECT
    toStartOfHour(decided_time) AS hour,
    count() AS decisions,
    countIf(channel = 'GREEN') AS green,
    countIf(channel = 'YELLOW') AS yellow,
    countIf(channel = 'RED') AS red,
    quantilesState(0.5, 0.9, 0.99)(decision_latency_us) AS latency_us
FROM ${db}.decisions
WHERE note = '' AND channel != 'UNSPECIFIED'
GROUP BY hour;

-- Yard stays: per container and terminal, the times it entered the yard (DISC from a vessel, GTIN at the
-- gate) and left it (LOAD, GTOT). Sets of times, so a repeated event changes nothing even without the sink's
-- key check. The yard_dwell view pairs each exit with the entry before it; open stays have no exit yet.
CREATE TABLE IF NOT EXISTS ${db}.yard_stays
(
    un_locode LowCardinality(String),
    terminal_code LowCardinality(String),
    container_number String,
    ins AggregateFunction(groupUniqArray, DateTime64(3, 'UTC')),
    outs AggregateFunction(groupUniqArray, DateTime64(3, 'UTC')),
    last_move SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (un_locode, terminal_code, container_number)
-- A container not moved at a terminal for two years has its stays forgotten there (checked on merges).
TTL toDateTime(last_move) + INTERVAL 2 YEAR
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.yard_stays_mv TO ${db}.yard_stays AS
SELECT
    un_locode, terminal_code, container_number,
    groupUniqArrayStateIf(event_time, event_type IN ('DISC', 'GTIN')) AS ins,
    groupUniqArrayStateIf(event_time, event_type IN ('LOAD', 'GTOT')) AS outs,
    max(event_time) AS last_move
FROM ${db}.events
WHERE classifier = 'ACTUAL' AND kind = 'equipment' AND event_type IN ('DISC', 'GTIN', 'LOAD', 'GTOT')
GROUP BY un_locode, terminal_code, container_number;

-- One row per completed stay: the exit, the latest entry before it (and after the previous exit), the dwell.
CREATE VIEW IF NOT EXISTS ${db}.yard_dwell AS
SELECT un_locode, terminal_code, container_number, in_time, out_time,
    dateDiff('second', in_time, out_time) AS dwell_seconds
FROM
(
    SELECT un_locode, terminal_code, container_number, i, o, out_time,
        arrayMax(arrayFilter(x -> x <= out_time, i)) AS in_time,
        arrayMax(arrayConcat([toDateTime64(0, 3, 'UTC')], arrayFilter(x -> x < out_time, o))) AS prev_out
    FROM
    (
        SELECT un_locode, terminal_code, container_number,
            groupUniqArrayMerge(ins) AS i, groupUniqArrayMerge(outs) AS o
        FROM ${db}.yard_stays
        GROUP BY un_locode, terminal_code, container_number
    )
    ARRAY JOIN o AS out_time
    WHERE notEmpty(arrayFilter(x -> x <= out_time, i))
)
WHERE in_time > prev_out;
