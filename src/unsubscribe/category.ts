/** An opt-out category, as a template declares it (`unsubscribe: { category }`): also a path segment of its links. */
export const CATEGORY = /^[a-z0-9][a-z0-9-]{0,62}$/;
