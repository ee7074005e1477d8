// Shared inline styles: email clients ignore most stylesheets.
export const styles = {
  body: { backgroundColor: '#f6f7f9', fontFamily: 'Helvetica, Arial, sans-serif', margin: 0, padding: '24px 0' },
  container: { backgroundColor: '#ffffff', borderRadius: 8, margin: '0 auto', maxWidth: 520, padding: 32 },
  heading: { color: '#111827', fontSize: 22, margin: '0 0 16px' },
  text: { color: '#111827', fontSize: 15, lineHeight: '24px' },
  muted: { color: '#6b7280', fontSize: 13, lineHeight: '20px' },
  hr: { borderColor: '#e5e7eb', margin: '24px 0 8px' },
  list: { color: '#111827', fontSize: 15, lineHeight: '24px', paddingLeft: 20 },
  button: {
    backgroundColor: '#2563eb',
    borderRadius: 6,
    color: '#ffffff',
    display: 'inline-block',
    fontSize: 15,
    padding: '12px 20px',
    textDecoration: 'none',
  },
} as const;
