-- The reference product's tables (schema app). Tokens and sessions are stored as
-- sha256 hashes: a database dump holds no usable secret. The email that carries a
-- token is written to mailroom.outbox in the same transaction as the token.

create table app.user_account (
  id            uuid primary key default gen_random_uuid(),
  email         text not null,
  name          text not null,
  password_hash text not null,
  verified_at   timestamptz,
  created_at    timestamptz not null default now(),
  constraint user_email_lower check (email = lower(email))
);
create unique index user_account_email on app.user_account (email);

create table app.session (
  id         uuid primary key default gen_random_uuid(),
  user_id    uuid not null references app.user_account (id) on delete cascade,
  token_hash bytea not null unique,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
create index session_by_user on app.session (user_id);

create table app.circle (
  id         uuid primary key default gen_random_uuid(),
  name       text not null,
  created_by uuid not null references app.user_account (id),
  created_at timestamptz not null default now()
);

create table app.membership (
  circle_id  uuid not null references app.circle (id) on delete cascade,
  user_id    uuid not null references app.user_account (id) on delete cascade,
  role       text not null check (role in ('admin', 'member')),
  created_at timestamptz not null default now(),
  primary key (circle_id, user_id)
);
create index membership_by_user on app.membership (user_id);

create table app.invitation (
  id           uuid primary key default gen_random_uuid(),
  circle_id    uuid not null references app.circle (id) on delete cascade,
  email        text not null check (email = lower(email)),
  invited_by   uuid not null references app.user_account (id),
  status       text not null default 'pending' check (status in ('pending', 'accepted', 'declined')),
  expires_at   timestamptz not null,
  reminded_at  timestamptz,
  responded_at timestamptz,
  created_at   timestamptz not null default now()
);
-- One open invitation per address and circle.
create unique index invitation_pending on app.invitation (circle_id, email) where status = 'pending';
-- The daily reminder's scan.
create index invitation_remind on app.invitation (created_at) where status = 'pending' and reminded_at is null;

create table app.child_profile (
  id                     uuid primary key default gen_random_uuid(),
  guardian_id            uuid not null references app.user_account (id) on delete cascade,
  name                   text not null,
  upgrade_email          text check (upgrade_email = lower(upgrade_email)),
  upgrade_requested_at   timestamptz,
  upgrade_expires_at     timestamptz,
  email_verified_at      timestamptz,
  consent_at             timestamptz,
  created_at             timestamptz not null default now()
);
create index child_consent_pending on app.child_profile (upgrade_requested_at)
  where upgrade_requested_at is not null and consent_at is null;

create table app.media_item (
  id          uuid primary key default gen_random_uuid(),
  circle_id   uuid not null references app.circle (id) on delete cascade,
  uploaded_by uuid not null references app.user_account (id),
  kind        text not null check (kind in ('photo', 'video', 'mixed')),
  count       int not null check (count between 1 and 10000),
  caption     text,
  created_at  timestamptz not null default now()
);
create index media_item_circle_time on app.media_item (circle_id, created_at);

-- One token per email link. Single use (used_at), with an expiry that is also the
-- email's not_after. It points at what it acts on.
create table app.email_token (
  id            uuid primary key default gen_random_uuid(),
  token_hash    bytea not null unique,
  purpose       text not null check (purpose in ('verify-email', 'password-reset', 'invitation', 'child-upgrade', 'guardian-consent')),
  user_id       uuid references app.user_account (id) on delete cascade,
  invitation_id uuid references app.invitation (id) on delete cascade,
  child_id      uuid references app.child_profile (id) on delete cascade,
  expires_at    timestamptz not null,
  used_at       timestamptz,
  created_at    timestamptz not null default now()
);
create index email_token_user on app.email_token (user_id) where used_at is null;
create index email_token_invitation on app.email_token (invitation_id) where used_at is null;
create index email_token_child on app.email_token (child_id) where used_at is null;

-- Sends that must happen at most once per key (a resend window, a reminder period).
-- Claimed in the transaction that writes the token and the email, so a second
-- claim of the same key writes neither: no orphan token behind a deduplicated email.
create table app.send_once (
  key        text primary key,
  created_at timestamptz not null default now()
);
