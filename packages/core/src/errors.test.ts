import { describe, expect, it } from 'vitest';
import { isKeepsakeError, KeepsakeError, SinkError, wrapPluginError } from './errors.js';

describe('errors', () => {
  it('carry code, class, hint and context; describe() is one readable line', () => {
    const e = SinkError.authRequired('onedrive', { assetId: 'IMG_1' });
    expect(e.code).toBe('AUTH_REQUIRED');
    expect(e.classification).toBe('fatal');
    expect(e.describe()).toBe('AUTH_REQUIRED: Not signed in to onedrive, or the sign-in expired or was revoked (asset IMG_1) — Run: keepsake login onedrive');
    expect(e.name).toBe('KeepsakeError');
  });
  it('wraps foreign errors as PLUGIN_ERROR keeping the plugin code and cause', () => {
    const raw = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const w = wrapPluginError(raw, { plugin: 'p', stage: 'put' });
    expect(w.code).toBe('PLUGIN_ERROR');
    expect(w.pluginCode).toBe('EACCES');
    expect(w.cause).toBe(raw);
    expect(isKeepsakeError(w)).toBe(true);
  });
  it('keeps a KeepsakeError code and the innermost context when wrapping', () => {
    const inner = new KeepsakeError('DEVICE_LOCKED', 'locked', { assetId: 'a' });
    const w = wrapPluginError(inner, { assetId: 'b', plugin: 'usb' });
    expect(w.code).toBe('DEVICE_LOCKED');
    expect(w.context).toMatchObject({ assetId: 'a', plugin: 'usb' });
  });
});
