-- Issue 16 (hostile input).

-- Account pre-hijacking: set when a second signup names an address nobody has
-- verified yet. Such a signup takes the pending account over (its password, its
-- name), but either signup may have been someone else's, so verifying a contested
-- account asks the link's holder (who reads the mailbox) for the password to keep.
alter table app.user_account add column signup_contested_at timestamptz;

-- Invitation caps (per inviter and per circle over the last 24 hours): the counts
-- read these, under a row lock on the inviter and the circle.
create index invitation_by_inviter_time on app.invitation (invited_by, created_at);
create index invitation_by_circle_time on app.invitation (circle_id, created_at);
