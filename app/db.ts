// The app's tables as Kysely types, and its Kysely instance over a pool it borrows.
import { Kysely, PostgresDialect, type Generated } from 'kysely';
import type pg from 'pg';

export type TokenPurpose = 'verify-email' | 'password-reset' | 'invitation' | 'child-upgrade' | 'guardian-consent';

export interface AppDatabase {
  'app.user_account': {
    id: Generated<string>;
    email: string;
    name: string;
    password_hash: string;
    verified_at: Date | null;
    /** A second signup named this address before it was verified (app/migrations/0002). */
    signup_contested_at: Date | null;
    created_at: Generated<Date>;
  };
  'app.session': {
    id: Generated<string>;
    user_id: string;
    token_hash: Buffer;
    expires_at: Date;
    revoked_at: Date | null;
    created_at: Generated<Date>;
  };
  'app.circle': { id: Generated<string>; name: string; created_by: string; created_at: Generated<Date> };
  'app.membership': { circle_id: string; user_id: string; role: 'admin' | 'member'; created_at: Generated<Date> };
  'app.invitation': {
    id: Generated<string>;
    circle_id: string;
    email: string;
    invited_by: string;
    status: Generated<'pending' | 'accepted' | 'declined'>;
    expires_at: Date;
    reminded_at: Date | null;
    responded_at: Date | null;
    created_at: Generated<Date>;
  };
  'app.child_profile': {
    id: Generated<string>;
    guardian_id: string;
    name: string;
    upgrade_email: string | null;
    upgrade_requested_at: Date | null;
    upgrade_expires_at: Date | null;
    email_verified_at: Date | null;
    consent_at: Date | null;
    created_at: Generated<Date>;
  };
  'app.media_item': {
    id: Generated<string>;
    circle_id: string;
    uploaded_by: string;
    kind: 'photo' | 'video' | 'mixed';
    count: number;
    caption: string | null;
    created_at: Generated<Date>;
  };
  'app.email_token': {
    id: Generated<string>;
    token_hash: Buffer;
    purpose: TokenPurpose;
    user_id: string | null;
    invitation_id: string | null;
    child_id: string | null;
    expires_at: Date;
    used_at: Date | null;
    created_at: Generated<Date>;
  };
  'app.send_once': { key: string; created_at: Generated<Date> };
}

export type AppDb = Kysely<AppDatabase>;

/** A Kysely over the process's pool. Never destroy it: that would end the borrowed pool. */
export function appDb(pool: pg.Pool): AppDb {
  return new Kysely<AppDatabase>({ dialect: new PostgresDialect({ pool }) });
}
