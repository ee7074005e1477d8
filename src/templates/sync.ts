// Keeps mailroom.template in step with the catalogue, so mailroom.enqueue() in SQL
// knows the same names, required props and policy as enqueueEmail() in TypeScript.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/types.ts';
import { catalogue, requiredProps, type TemplateDefinition } from './catalogue.ts';

export async function syncTemplateCatalogue(db: Kysely<Database>): Promise<void> {
  const rows = Object.entries(catalogue).map(([name, raw]) => {
    const definition = raw as unknown as TemplateDefinition;
    return {
      name,
      required_props: requiredProps(definition),
      header_props: [...definition.headerProps],
      priority: definition.policy.priority,
      max_attempts: definition.policy.maxAttempts,
      ttl: definition.policy.ttl,
    };
  });
  // Templates removed from the code stay in the table: old outbox rows point at them.
  await db
    .insertInto('mailroom.template')
    .values(rows)
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        required_props: (eb) => eb.ref('excluded.required_props'),
        header_props: (eb) => eb.ref('excluded.header_props'),
        priority: (eb) => eb.ref('excluded.priority'),
        max_attempts: (eb) => eb.ref('excluded.max_attempts'),
        ttl: (eb) => eb.ref('excluded.ttl'),
        updated_at: sql`now()`,
      }),
    )
    .execute();
}
