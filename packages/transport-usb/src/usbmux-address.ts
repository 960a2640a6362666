/** Where usbmuxd listens: the platform default, or `USBMUXD_SOCKET_ADDRESS` (`UNIX:/path` or `host:port`). */
import { KeepsakeError } from '@keepsake/core';

export type UsbmuxAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseUsbmuxAddress(value: string): UsbmuxAddress {
  if (value.startsWith('UNIX:')) {
    const path = value.slice(5);
    if (!path) throw invalid(value);
    return { kind: 'unix', path };
  }
  const colon = value.lastIndexOf(':');
  if (colon <= 0) throw invalid(value);
  let host = value.slice(0, colon);
  const portText = value.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) throw invalid(value);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw invalid(value);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { kind: 'tcp', host, port };
}

export function defaultUsbmuxAddress(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): UsbmuxAddress {
  const fromEnv = env.USBMUXD_SOCKET_ADDRESS;
  if (fromEnv) return parseUsbmuxAddress(fromEnv);
  if (platform === 'win32') return { kind: 'tcp', host: '127.0.0.1', port: 27015 };
  return { kind: 'unix', path: '/var/run/usbmuxd' };
}

export function formatUsbmuxAddress(a: UsbmuxAddress): string {
  return a.kind === 'unix' ? `UNIX:${a.path}` : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

function invalid(value: string): KeepsakeError {
  return new KeepsakeError('OPTION_INVALID', `USBMUXD_SOCKET_ADDRESS="${value}" is not UNIX:/path or host:port`, {
    hint: 'Set it like UNIX:/var/run/usbmuxd or 127.0.0.1:27015, or unset it to use the default.',
  });
}
