// Keeps mailroom.template in step with the app's catalogue, so mailroom.enqueue()
// in SQL knows the same names, required props and policy as enqueue in TypeScript.
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/types.ts';
import { requiredProps, type Catalogue } from './catalogue.ts';
import type { TemplateDefinition } from './define.ts';
import { sqlPropsSchema } from './sql-schema.ts';

export async function syncTemplateCatalogue(db: Kysely<Database>, catalogue: Catalogue): Promise<void> {
  // Every template's SQL check is derived before anything is written: one whose
  // schema SQL cannot check exactly (UnexpressibleSchemaError) stops the sync whole.
  const rows = catalogue.entries().map(([name, definition]) => ({
    name,
    required_props: requiredProps(definition),
    header_props: [...definition.headerProps],
    prop_types: JSON.stringify(propTypes(definition)),
    props_schema: JSON.stringify(sqlPropsSchema(name, definition.schema)),
    priority: definition.policy.priority,
    max_attempts: definition.policy.maxAttempts,
    ttl: definition.policy.ttl,
  }));
  if (rows.length === 0) return;
  // Templates removed from the config stay in the table: old outbox rows point at them.
  await db
    .insertInto('mailroom.template')
    .values(rows)
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        required_props: (eb) => eb.ref('excluded.required_props'),
        header_props: (eb) => eb.ref('excluded.header_props'),
        prop_types: (eb) => eb.ref('excluded.prop_types'),
        props_schema: (eb) => eb.ref('excluded.props_schema'),
        priority: (eb) => eb.ref('excluded.priority'),
        max_attempts: (eb) => eb.ref('excluded.max_attempts'),
        ttl: (eb) => eb.ref('excluded.ttl'),
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

/** Each prop's JSON type (string, number, integer, boolean, array, object), from the zod schema. */
export function propTypes(definition: TemplateDefinition): Record<string, string> {
  const properties = (z.toJSONSchema(definition.schema, { io: 'input' }) as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  return Object.fromEntries(
    Object.entries(properties)
      .filter(([, schema]) => typeof schema.type === 'string')
      .map(([key, schema]) => [key, schema.type as string]),
  );
}
