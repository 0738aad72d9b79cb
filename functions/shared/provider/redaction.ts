/**
 * Redaction of text that may quote a provider's words: what reelhook stores, shows or
 * logs of it goes through these, so a key or a signed URL echoed back never leaks.
 */

/** `secret` wherever it appears (when there is one), and any `Bearer <token>`, replaced. */
export function redactSecrets(text: string, secret = ''): string {
  const withoutSecret = secret === '' ? text : text.replaceAll(secret, '[redacted]');
  return withoutSecret.replace(/\bBearer\s+[^\s"',;]+/gi, 'Bearer [redacted]');
}

/** {@link redactSecrets}, and query strings and fragments dropped from any URL the text quotes (they can carry signatures). */
export function sanitizeMessage(text: string, secret = ''): string {
  return redactSecrets(text, secret).replace(/(https?:\/\/[^\s?#"'<>]*)[?#][^\s"'<>]*/gi, '$1');
}
