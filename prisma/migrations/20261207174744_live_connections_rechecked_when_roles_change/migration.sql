-- A member's role change re-authorises the organisation's live connections made with sessions at once, as a removal
-- does: a connection keeps the principal (and role) it connected with, and a demoted admin's would otherwise go on
-- reading what only admins may read (signing secrets, keys, invites) until the periodic re-check.
CREATE TRIGGER "memberships_publish_changes" AFTER UPDATE ON "memberships"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_access_ends"();
