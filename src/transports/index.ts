// mailroom/transports: the one Transport contract, and a factory for each
// transport mailroom ships. An app may pass its own Transport (SES, Postmark, ...)
// to startWorker(): anything with name, send() and close() that rejects with a
// SendError saying whether a retry can help.
export type { OutgoingEmail, SendReceipt, Transport } from './transport.ts';
export { messageIdFor } from './transport.ts';
export { createSmtpTransport as smtpTransport, type SmtpOptions as SmtpTransportOptions } from './smtp.ts';
export { createMailjetTransport as mailjetTransport, type MailjetOptions as MailjetTransportOptions } from './mailjet.ts';
export { createCaptureTransport as captureTransport, type CaptureOptions as CaptureTransportOptions } from './capture.ts';
export { createFailoverTransport as failoverTransport, type FailoverOptions, type FailoverTransport } from './failover.ts';
export { SendError, type ErrorClass } from '../errors.ts';
