-- Staging safety (MAIL_REDIRECT_TO): where each try really went. The outbox row
-- keeps its recipient; an attempt redirected elsewhere says so here. Null: to the
-- row's recipient.
alter table mailroom.delivery_attempt add column sent_to text;
comment on column mailroom.delivery_attempt.sent_to is
  'Where this try was sent when a staging rule (MAIL_REDIRECT_TO) redirected it; null: to the row''s recipient';
