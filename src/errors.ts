// Errors that cross a module edge. Each says which field or step is at fault, and
// send errors say whether trying again can help.

/** Bad input to a public entry point. `field` names the offending input, e.g. `to` or `props.token`. */
export class ValidationError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'ValidationError';
  }
}

/**
 * How a failed send should be treated. transient: try again later; permanent:
 * never; throttled: the provider asked us to slow down (not counted against the
 * email); ambiguous: the data may have been delivered; config: our settings are wrong.
 */
export type ErrorClass = 'transient' | 'permanent' | 'throttled' | 'ambiguous' | 'config';

export class SendError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
    readonly responseCode?: number,
    readonly response?: string,
  ) {
    super(message);
    this.name = 'SendError';
  }

  /** Which transport failed, when several are in play (failover); the attempt row records it. */
  transport?: string;

  /** Everything but permanent: a config fault (bad credentials) is ours to fix, not the email's. */
  get retryable(): boolean {
    return this.errorClass !== 'permanent';
  }
}

/** A template that cannot produce a message from the row's props: retrying will not help. */
export class RenderError extends SendError {
  constructor(template: string, cause: unknown) {
    super('permanent', `template ${template} failed to render: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'RenderError';
  }
}
