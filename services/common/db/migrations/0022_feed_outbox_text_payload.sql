-- The feed outbox keeps each message as text, compressed with lz4 (issue 12: FHIR throughput).
--
-- Every payload is text by construction: HL7 v2 messages (printable separators; every C0
-- control and DEL inside a field is hex-escaped, services/feeds/hl7/escape.h) and FHIR JSON
-- (UTF-8; the serializer escapes controls). As bytea they crossed libpq's text protocol
-- base64-encoded both ways: encode() on every delivery read and decode() on every insert. For
-- a 70 KB notification Bundle that text encoding cost about 1-2 ms of the server's CPU per
-- message, more than the rest of the row's work (measured with psql on a private cluster:
-- 1,000 such rows read with encode(..., 'base64') took 0.7-1.1 s; the same rows' detoasting
-- alone 0.03-0.06 s). As text the value is sent and stored as it is.
--
-- lz4 instead of the default pglz: the same Bundles compress to about the same size (both
-- about 13:1 here) and inserting 500 of them took 68-108 ms with lz4 against 255-1,190 ms with
-- pglz on a loaded 2-core machine. PostgreSQL 14+ built with lz4 (Debian's is). Rows written
-- before this migration keep their pglz compression; they are read the same way.
--
-- The type change rewrites the table under an exclusive lock; stop healthtwin-feeds first on a
-- deployment with a large delivered history.
ALTER TABLE feed_outbox ALTER COLUMN payload TYPE text USING convert_from(payload, 'UTF8');
ALTER TABLE feed_outbox ALTER COLUMN payload SET COMPRESSION lz4;
