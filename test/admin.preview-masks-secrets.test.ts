// A row's email as the admin pages show it: every template renders with its
// sensitive props masked (the real token is nowhere in the subject, HTML or text,
// and •••• stands in its place), also for a sent row whose token was scrubbed.
import { describe, expect, it } from 'vitest';
import { MASK, maskProps, renderMasked } from '../src/admin/preview.ts';
import { catalogue, templateCatalogue, templateNames } from './support/mailroom.ts';

const SECRET = 'very-secret-token-0123456789';

describe('renderMasked', () => {
  for (const name of templateNames) {
    const { sensitiveProps, previewProps } = catalogue[name];
    it(`${name}: renders${sensitiveProps.length ? ', the token masked' : ''}`, async () => {
      const props: Record<string, unknown> = { ...previewProps };
      for (const key of sensitiveProps) props[key] = SECRET;
      const rendered = await renderMasked(templateCatalogue, { template: name, props, locale: null }, { baseUrl: 'https://app.example' });
      for (const part of [rendered.subject, rendered.html, rendered.text]) expect(part).not.toContain(SECRET);
      if (sensitiveProps.length > 0) expect(rendered.text).toContain(MASK);
      expect(rendered.html).toContain('https://app.example/');
    });
  }

  it('renders a sent row whose token was scrubbed', async () => {
    const rendered = await renderMasked(templateCatalogue, { template: 'account-confirm', props: { name: 'Ada' }, locale: 'fr' });
    expect(rendered.text).toContain(MASK);
    expect(rendered.text).toContain('Ada');
  });

  it('maskProps masks the sensitive props that are there, and only those', () => {
    expect(maskProps(templateCatalogue, 'account-confirm', { token: SECRET, name: 'Ada' })).toEqual({ token: MASK, name: 'Ada' });
    expect(maskProps(templateCatalogue, 'account-confirm', { name: 'Ada' })).toEqual({ name: 'Ada' });
    expect(maskProps(templateCatalogue, 'weekly-digest', { name: 'Ada' }, '[sensitive]')).toEqual({ name: 'Ada' });
  });
});
