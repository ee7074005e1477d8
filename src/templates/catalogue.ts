// The app's templates as mailroom looks them up: by name, with the lists the
// sender, the admin pages, retention and `mailroom migrate` need. Built once per
// config (defineConfig's result) and shared by everything that gets that config.
import type { z } from 'zod';
import type { MailroomConfig } from '../define-config.ts';
import type { TemplateDefinition, Templates } from './define.ts';

export class Catalogue {
  readonly #templates: ReadonlyMap<string, TemplateDefinition>;
  /** Template name -> opt-out category, for the non-essential templates (`unsubscribe`). */
  readonly unsubscribeCategories: ReadonlyMap<string, string>;

  constructor(templates: Templates) {
    this.#templates = new Map(Object.entries(templates));
    this.unsubscribeCategories = new Map(
      Object.entries(templates).flatMap(([name, definition]) => (definition.unsubscribeCategory ? [[name, definition.unsubscribeCategory] as const] : [])),
    );
  }

  /** Template names, in the config's order. */
  get names(): string[] {
    return [...this.#templates.keys()];
  }

  get(name: string): TemplateDefinition | undefined {
    return this.#templates.get(name);
  }

  entries(): [string, TemplateDefinition][] {
    return [...this.#templates.entries()];
  }

  /** The template's sensitive props (none for an unknown template). */
  sensitiveProps(name: string): readonly string[] {
    return this.#templates.get(name)?.sensitiveProps ?? [];
  }
}

const catalogues = new WeakMap<object, Catalogue>();

/** The catalogue of a config (made on first use, then kept). */
export function catalogueOf(source: MailroomConfig<any> | Catalogue): Catalogue {
  if (source instanceof Catalogue) return source;
  let catalogue = catalogues.get(source);
  if (!catalogue) {
    catalogue = new Catalogue(source.templates);
    catalogues.set(source, catalogue);
  }
  return catalogue;
}

/** Keys a props object must have: those whose schema refuses `undefined`. */
export function requiredProps(definition: TemplateDefinition): string[] {
  return Object.entries(definition.schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([key]) => key)
    .sort();
}
