-- Consumers of vitals (the alerts evaluator) read their next rows by ingest_seq through the
-- BRIN index vitals_ingest_seq_idx. A BRIN scan returns every page of a block range that is not
-- summarised yet, and autosummarize only queues the summary for autovacuum, which gets to it
-- at its next run (autovacuum_naptime, 1 min by default). Under a sustained insert load the
-- unsummarised tail is therefore up to a minute of inserts (about 1.2 million rows at 20,000
-- samples/s), and every round of the evaluator read all of it to find its 20,000 rows (issue
-- 11: 0.45-0.6 s a round). Summarising the new ranges as the consumer goes reads each page once
-- instead of once a round.
--
-- brin_summarize_new_values needs the index's owner (the migrator), so the consumer calls it
-- through this SECURITY DEFINER function. It summarises the ranges of every partition's index
-- that are not summarised yet and returns how many it summarised. A partition whose index is
-- busy (autovacuum summarising or vacuuming it, or another replica calling this) is skipped
-- after lock_timeout: the next call does it, and a read meanwhile is only slower.
CREATE FUNCTION healthtwin_summarize_vitals_seq() RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  part regclass;
  total integer := 0;
BEGIN
  FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i
              WHERE i.inhparent = 'vitals_ingest_seq_idx'::regclass ORDER BY 1 LOOP
    BEGIN
      total := total + brin_summarize_new_values(part);
    EXCEPTION WHEN lock_not_available THEN
      NULL;
    END;
  END LOOP;
  RETURN total;
END
$fn$;
ALTER FUNCTION healthtwin_summarize_vitals_seq() OWNER TO healthtwin_migrator;
ALTER FUNCTION healthtwin_summarize_vitals_seq()
  SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '100ms';
REVOKE ALL ON FUNCTION healthtwin_summarize_vitals_seq() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION healthtwin_summarize_vitals_seq() TO healthtwin_alerts;
