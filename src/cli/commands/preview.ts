// `mailroom preview <template>`: render one email exactly as the worker would
// (same renderer, FRONTEND_BASE_URL, locale), from its PreviewProps or a JSON file.
import { readFile, writeFile } from 'node:fs/promises';
import { loadConfig } from '../env.ts';
import { ValidationError } from '../../errors.ts';
import { catalogueOf } from '../../templates/catalogue.ts';
import { loadConfigFile } from '../load-config.ts';
import { renderEmail } from '../../templates/render.ts';

export interface PreviewFlags {
  props?: string;
  locale?: string;
  text?: boolean;
  out?: string;
  config?: string;
}

export async function previewCommand(template: string, flags: PreviewFlags): Promise<void> {
  const config = loadConfig();
  const catalogue = catalogueOf((await loadConfigFile(flags.config)).config);
  const definition = catalogue.get(template);
  if (!definition) throw new ValidationError('template', `unknown template "${template}"; known: ${catalogue.names.join(', ')}`);
  if (flags.locale !== undefined && !/^[a-z]{2}(-[A-Z]{2})?$/.test(flags.locale)) {
    throw new ValidationError('--locale', `"${flags.locale}" is not a language tag like en or fr`);
  }
  let props: unknown = definition.previewProps;
  if (flags.props !== undefined) {
    const text = await readFile(flags.props, 'utf8').catch((error: Error) => {
      throw new ValidationError('--props', `cannot read ${flags.props}: ${error.message}`);
    });
    try {
      props = JSON.parse(text);
    } catch (error) {
      throw new ValidationError('--props', `${flags.props} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const rendered = await renderEmail(catalogue, template, props, {
    baseUrl: config.FRONTEND_BASE_URL,
    ...(flags.locale ? { locale: flags.locale } : {}),
  }).catch((error: Error) => {
    throw new ValidationError('props', error.message);
  });
  const output = flags.text ? `Subject: ${rendered.subject}\n\n${rendered.text}\n` : rendered.html;
  if (flags.out) {
    await writeFile(flags.out, output);
    process.stdout.write(`wrote ${flags.out} (${rendered.subject})\n`);
  } else {
    process.stdout.write(output);
  }
}
