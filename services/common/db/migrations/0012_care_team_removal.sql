-- Care teams shrink as well as grow (issue 11: "a patient added to or removed from a care team
-- must take effect on open subscriptions"). The registry (hosted by ingest) removes a member
-- with RemoveCareTeamMember; DELETE ... WHERE reads the key columns, hence the column SELECT.
-- Who removed whom and when is in audit_log (registry.remove_care_team_member).
GRANT SELECT (patient_id, member), DELETE ON care_team TO healthtwin_ingest;
