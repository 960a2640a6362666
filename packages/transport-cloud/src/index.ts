/**
 * @keepsake/transport-cloud — what every cloud sink needs: OAuth logins (device code, loopback +
 * PKCE) with refresh, a token store in the OS keychain or a 0600 file, an HTTP client with
 * retries/Retry-After/rate limits/timeouts and one status→error mapping, and resumable uploads.
 * @packageDocumentation
 */
export { type AccessTokenProvider, createHttpClient, type HttpBody, type HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse } from './http-client.js';
export { type CloudErrorCode, defaultQuotaDetector, type HttpErrorOptions, type HttpFailure, httpError, networkError, timeoutError } from './http-errors.js';
export { createSecretStore, keychainSecretStore, type SecretStoreOptions } from './keychain.js';
export { ConcurrencyLimiter, TokenBucket } from './limits.js';
export { formatDeviceCodePrompt, runLogin, runLogout, secretsFor } from './login.js';
export { type DeviceCodeLoginOptions, type DeviceCodePrompt, deviceCodeLogin } from './oauth-device-code.js';
export { createPkce, type LoopbackLoginOptions, loopbackLogin } from './oauth-loopback.js';
export { type OAuthErrorResponse, postTokenRequest, type TokenEndpointResult } from './oauth-token-endpoint.js';
export { redact, redactUrl } from './redact.js';
export {
  type ResumableProtocol,
  type ResumableUploadOptions,
  type ResumableUploadResult,
  resumableUpload,
  type SessionStatus,
} from './resumable-upload.js';
export { parseRetryAfter } from './retry-after.js';
export { createTokenProvider, type TokenProviderOptions } from './token-provider.js';
export { createTokenStore, type TokenResponse, type TokenSet, type TokenStore, tokenSetFrom } from './tokens.js';
