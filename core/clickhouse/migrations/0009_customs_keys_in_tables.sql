-- The sink looks the keys of declarations and decisions up in those tables themselves (their sort keys start
-- with the declaration number), no longer in sink_keys: each INSERT into either table writes one part fewer,
-- and no row can be in the table without its key being found, as it could when the key view's part came after
-- the table's within one INSERT. Keys already in sink_keys under these kinds age out with its TTL. Events keep
-- their key view: their key is not a prefix of the events' sort key.
DROP VIEW IF EXISTS ${db}.declarations_keys_mv;

DROP VIEW IF EXISTS ${db}.decisions_keys_mv;
