/**
 * Removes credentials from text before it reaches a log line or an error message: bearer
 * tokens, `access_token`/`refresh_token`/`id_token`/`client_secret`/`code` values in JSON or
 * form bodies and query strings, and pre-authenticated upload URLs' query strings.
 */
const PATTERNS: [RegExp, string][] = [
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]'],
  [/("(?:access_token|refresh_token|id_token|client_secret|device_code|code|password)"\s*:\s*")[^"]*(")/gi, '$1[redacted]$2'],
  [/\b((?:access_token|refresh_token|id_token|client_secret|device_code|code|code_verifier|password)=)[^&\s"]+/gi, '$1[redacted]'],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, repl] of PATTERNS) out = out.replace(re, repl);
  return out;
}

/**
 * A URL safe to log: drops the query string and fragment (OneDrive and Google upload URLs carry
 * their credential there).
 */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    return `${u.origin}${u.pathname}${u.search ? '?[redacted]' : ''}`;
  } catch {
    return '[unparseable url]';
  }
}
