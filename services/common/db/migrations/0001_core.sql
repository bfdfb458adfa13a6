-- The first migration only proves the migrator end to end; the real schema
-- starts at 0002. Never edit a migration once it has been applied anywhere:
-- the migrator refuses to start on a checksum mismatch. Add a new file.
CREATE TABLE app_info (
  key text PRIMARY KEY,
  value text NOT NULL
);

INSERT INTO app_info (key, value) VALUES ('schema_owner', 'healthtwin');
