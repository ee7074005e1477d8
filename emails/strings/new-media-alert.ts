export interface NewMediaStrings {
  /** One fixed string per kind and number: the uploader's and the circle's names are user text (issue 16). */
  subject: (p: { count: number; kind: 'photo' | 'video' | 'mixed' }) => string;
  preview: (circleName: string) => string;
  heading: (circleName: string) => string;
  greeting: (name: string | undefined) => string;
  body: (uploaderName: string, what: string, circleName: string) => string;
  what: (count: number, kind: 'photo' | 'video' | 'mixed') => string;
  action: string;
  fallback: string;
  footer: string;
}

const what = (count: number, kind: 'photo' | 'video' | 'mixed') => {
  const noun = kind === 'mixed' ? 'photos and videos' : count === 1 ? `a ${kind}` : `${kind}s`;
  return kind === 'mixed' || count === 1 ? noun : `${count} ${noun}`;
};

export const strings: { en: NewMediaStrings } & Record<string, NewMediaStrings> = {
  en: {
    subject: ({ count, kind }) => (kind === 'mixed' ? 'New photos and videos in your circle' : count === 1 ? `A new ${kind} in your circle` : `New ${kind}s in your circle`),
    preview: (circleName) => `New in ${circleName}`,
    heading: (circleName) => `New in ${circleName}`,
    greeting: (name) => (name ? `Hi ${name},` : 'Hi,'),
    body: (uploaderName, items, circleName) => `${uploaderName} added ${items} to ${circleName}.`,
    what,
    action: 'See them now',
    fallback: 'Or paste this link into your browser:',
    footer: 'Sent by Circles because you are a member of this circle.',
  },
};
