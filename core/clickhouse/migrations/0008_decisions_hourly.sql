-- Customs activity per hour: every decision counted by what it is (a risk assessment, the outcome of a document
-- check or physical inspection, a cancellation), its channel and its status. Assessments carry no note; an
-- outcome or a cancellation carries one (as in clearance_hourly). A passed check clears the goods (CLEARED), a
-- failed one refuses them (REFUSED); the channel says which kind of check it was (YELLOW documents, RED goods).
-- Plain sums, like the other rollups: the sink inserts each decision once. The view sees inserts made after this
-- migration; decisions written before it are not back-filled.
CREATE TABLE IF NOT EXISTS ${db}.decisions_hourly
(
    hour DateTime('UTC'),
    kind LowCardinality(String),
    channel LowCardinality(String),
    status LowCardinality(String),
    decisions UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, kind, channel, status)
TTL hour + INTERVAL 2 YEAR
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.decisions_hourly_mv TO ${db}.decisions_hourly AS
SELECT
    toStartOfHour(decided_time) AS hour,
    multiIf(status = 'CANCELLED', 'CANCELLATION', note = '', 'ASSESSMENT', 'OUTCOME') AS kind,
    channel, status, count() AS decisions
FROM ${db}.decisions
GROUP BY hour, kind, channel, status;
