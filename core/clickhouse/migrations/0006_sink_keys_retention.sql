-- The sink's keys must outlive every message that could be delivered to it again: a re-created durable
-- consumer reads its stream from the start, and a key already gone would let an old record be inserted (and
-- counted by the rollups) a second time. PS_CUSTOMS and PS_DECISIONS keep messages 366 days, so declaration and
-- decision keys are kept 400; event keys stay 30 days, which the events stream's max age may not exceed
-- (JS_EVENTS_MAX_AGE_HOURS is capped at 720). A key is written after its message was published, so a key
-- retention at least the stream's max age covers every message still in the stream.
-- Rows now expire by kind, so TTL deletes rows on merges instead of waiting for whole daily parts to expire.
ALTER TABLE ${db}.sink_keys MODIFY SETTING ttl_only_drop_parts = 0;

ALTER TABLE ${db}.sink_keys
    MODIFY TTL seen_time + INTERVAL 30 DAY DELETE WHERE kind = 'event', seen_time + INTERVAL 400 DAY;
