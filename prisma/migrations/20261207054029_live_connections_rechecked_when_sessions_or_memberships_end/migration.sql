-- Live connections made with a session are re-authorised as soon as a session or a membership of their organisation
-- ends (a log-out, a member removed, a user deleted), instead of at the next periodic re-check: one notification per
-- organisation and statement, naming no rows (the server re-checks that organisation's connections).
CREATE FUNCTION "runlater_publish_access_ends"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  organization uuid;
BEGIN
  FOR organization IN SELECT DISTINCT organization_id FROM old_rows LOOP
    PERFORM pg_notify('runlater_events', json_build_object('k', 'a', 'o', organization, 'r', json_build_array())::text);
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER "sessions_publish_ends" AFTER DELETE ON "sessions"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_access_ends"();
CREATE TRIGGER "memberships_publish_ends" AFTER DELETE ON "memberships"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_access_ends"();
