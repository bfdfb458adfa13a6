-- Twin shards read only their own patients' vitals (issue 15, item 4).
--
-- shard_key is a 28-bit hash of patient_id: the first 7 hex digits of md5(patient_id), in
-- [0, 2^28). It is a stored generated column, so every writer of vitals (ingest's COPY path,
-- the registry's quarantine release, tests' INSERTs) gets it without listing it, and the cost
-- at insert is one md5 of a short id per row, in C. md5 hashes the id's bytes in the database
-- encoding (UTF-8), which is what services/twin/shard.cc hashes with OpenSSL; it is a spread
-- function here, not a security one.
--
-- Twin shard i of N owns the keys [ceil(i * 2^28 / N), ceil((i + 1) * 2^28 / N)): a range, so
-- a shard's read is a range condition any shard count can use, and changing N needs no new
-- column or index. The keeper reads
--   WHERE ingest_seq > cursor AND shard_key >= lo AND shard_key < hi ORDER BY ingest_seq LIMIT n
-- through vitals_seq_shard_idx: the index gives ingest_seq order and checks shard_key in the
-- index entry, so another shard's heap rows are never fetched. ingest_seq grows with insertion,
-- so inserts append at the right edge of this btree (the cheapest btree insert).
ALTER TABLE vitals
  ADD COLUMN shard_key integer NOT NULL
  GENERATED ALWAYS AS (('x' || substr(md5(patient_id), 1, 7))::bit(28)::integer) STORED;
CREATE INDEX vitals_seq_shard_idx ON vitals (ingest_seq, shard_key);

-- The partition maintenance function moved rows with INSERT ... SELECT *, which a generated
-- column refuses; it now names the stored columns. Same body otherwise, and the same
-- SECURITY DEFINER settings as 0006 gave it (CREATE OR REPLACE resets them).
CREATE OR REPLACE FUNCTION healthtwin_ensure_vitals_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
  first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  m date;
  part text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7468657275);
  FOR i IN 0..months_ahead LOOP
    m := (first_month + make_interval(months => i))::date;
    part := format('vitals_%s', to_char(m, 'YYYYMM'));
    CONTINUE WHEN to_regclass(part) IS NOT NULL;
    CREATE TEMP TABLE healthtwin_moving ON COMMIT DROP AS
      SELECT * FROM vitals_default WHERE measured_at >= m AND measured_at < m + interval '1 month';
    DELETE FROM vitals_default WHERE measured_at >= m AND measured_at < m + interval '1 month';
    EXECUTE format('CREATE TABLE %I PARTITION OF vitals FOR VALUES FROM (%L) TO (%L)',
                   part, m::timestamptz, (m + interval '1 month')::timestamptz);
    INSERT INTO vitals (ingest_seq, patient_id, device_id, vital_type, value, ucum_unit, measured_at,
                        received_at, device_record_seq, flags, bridge_id, stored_at)
      SELECT ingest_seq, patient_id, device_id, vital_type, value, ucum_unit, measured_at,
             received_at, device_record_seq, flags, bridge_id, stored_at FROM healthtwin_moving;
    DROP TABLE healthtwin_moving;
    created := created + 1;
  END LOOP;
  RETURN created;
END
$fn$;

-- Which shard owns a patient changed (from FNV-1a-64 mod N to the key range above), so the
-- twin cursors start again: a new cursor reads the retained vitals once and each twin skips
-- the rows its snapshot covers (twin_snapshots.covered_seq), as after a change of shard count.
DELETE FROM consumer_cursors WHERE consumer LIKE 'twin/%';
