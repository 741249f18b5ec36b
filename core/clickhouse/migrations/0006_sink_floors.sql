-- Per stream, a sequence up to which every message of the stream is in ClickHouse: the sink's durable consumer
-- acked it, and the sink acks only after the INSERT (or after dead-lettering a message that could not be
-- decoded). A message at or below it that is delivered again, however old (a re-created consumer reads its
-- stream from the start; PS_CUSTOMS and PS_DECISIONS keep a year), is skipped without a look at sink_keys,
-- whose keys live 30 days. Recorded by the sink every few seconds, when it takes a stream's lease and when it
-- stops (processor/sink/floor.ts). stream_created ties it to one incarnation of the stream: a stream deleted
-- and created again numbers from 1, and its old floor must not hide the new messages. To rebuild the tables
-- from the streams, delete the stream's rows here as well as its keys in sink_keys.
CREATE TABLE IF NOT EXISTS ${db}.sink_floors
(
    stream LowCardinality(String),
    stream_created String,
    floor UInt64,
    recorded_time DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(floor)
ORDER BY (stream, stream_created)
SETTINGS non_replicated_deduplication_window = 1000;
