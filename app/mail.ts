// The product's outbox: mailroom's enqueue, typed by this repository's config, so a
// template name or a prop the emails do not declare is a compile error here.
import { createMailroom, type Mailroom } from 'mailroom';
import config from '../mailroom.config.ts';

export const mail = createMailroom(config);
export type ProductMail = typeof mail;
export type { Mailroom };
