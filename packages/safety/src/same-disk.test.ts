import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sinksSharingADisk } from './same-disk.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('sinksSharingADisk', () => {
  it('groups folder sinks whose roots are on one filesystem, each key once; others and unreadable roots are left out', async () => {
    const base = mkdtempSync(join(tmpdir(), 'same-disk-'));
    made.push(base);
    for (const d of ['nas', 'usb']) mkdirSync(join(base, d));
    const nas = `folder:${join(base, 'nas')}`;
    const usb = `folder:${join(base, 'usb')}`;
    expect(await sinksSharingADisk([nas, usb, nas, 'onedrive:abc', `folder:${join(base, 'unplugged')}`])).toEqual([{ sinkKeys: [nas, usb] }]);
    expect(await sinksSharingADisk([nas, 'gphotos:client'])).toEqual([]);
  });

  const shm = '/dev/shm';
  const otherDevice = (() => {
    try {
      return statSync(shm).dev !== statSync(tmpdir()).dev;
    } catch {
      return false;
    }
  })();
  it.skipIf(!otherDevice)('does not group roots on different filesystems', async () => {
    const a = mkdtempSync(join(tmpdir(), 'same-disk-'));
    const b = mkdtempSync(join(shm, 'same-disk-'));
    made.push(a, b);
    expect(await sinksSharingADisk([`folder:${a}`, `folder:${b}`])).toEqual([]);
  });
});
