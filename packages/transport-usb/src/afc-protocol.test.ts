import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AfcClient, isSafeDeviceName } from './afc-client.js';
import { AFC_HEADER_SIZE, AfcOp, afcStatusError, decodeAfcHeader, encodeAfcPacket, parseKeyValueList, splitNulList } from './afc-protocol.js';

/** A fake device on the other end of a duplex pair: answers each request with `respond`. */
function fakeDevice(respond: (op: number, num: bigint, hd: Buffer) => Buffer | undefined) {
  const toDevice = new PassThrough();
  const toHost = new PassThrough();
  const replyToHost = toHost.write.bind(toHost);
  const host = Object.assign(toHost, { write: toDevice.write.bind(toDevice) }) as unknown as PassThrough;
  let buf = Buffer.alloc(0);
  toDevice.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= AFC_HEADER_SIZE) {
      const h = decodeAfcHeader(buf, 1 << 20);
      if (buf.length < h.entireLength) return;
      const hd = buf.subarray(AFC_HEADER_SIZE, h.thisLength);
      const out = respond(h.operation, h.packetNum, Buffer.from(hd));
      buf = buf.subarray(h.entireLength);
      if (out) replyToHost(out);
    }
  });
  return host;
}

const status = (num: bigint, code: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(code), 0);
  return encodeAfcPacket(AfcOp.STATUS, num, b);
};

describe('AFC packets', () => {
  it('encodes the 40-byte header with magic, lengths, number and operation', () => {
    const p = encodeAfcPacket(AfcOp.READ_DIR, 5n, Buffer.from('/DCIM\0'));
    expect(p.subarray(0, 8).toString()).toBe('CFA6LPAA');
    expect(Number(p.readBigUInt64LE(8))).toBe(46);
    expect(Number(p.readBigUInt64LE(16))).toBe(46);
    expect(p.readBigUInt64LE(24)).toBe(5n);
    expect(Number(p.readBigUInt64LE(32))).toBe(AfcOp.READ_DIR);
  });

  it('rejects bad magic, inconsistent and oversized lengths', () => {
    const p = encodeAfcPacket(AfcOp.DATA, 1n, Buffer.alloc(10));
    const bad = Buffer.from(p);
    bad[0] = 0x41;
    expect(() => decodeAfcHeader(bad, 100)).toThrow(/magic/);
    const inconsistent = Buffer.from(p);
    inconsistent.writeBigUInt64LE(30n, 8);
    expect(() => decodeAfcHeader(inconsistent, 100)).toThrow(/inconsistent/);
    const huge = Buffer.from(p);
    huge.writeBigUInt64LE(2n ** 62n, 8);
    expect(() => decodeAfcHeader(huge, 1 << 20)).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
  });

  it('maps status codes, including unknown ones, to typed errors', () => {
    expect(afcStatusError(8, 'x').code).toBe('SOURCE_ITEM_VANISHED');
    expect(afcStatusError(10, 'x').code).toBe('DEVICE_PERMISSION_DENIED');
    expect(afcStatusError(20, 'x')).toMatchObject({ code: 'DEVICE_AFC_ERROR', pluginCode: 'AFC_E_IO_ERROR' });
    expect(afcStatusError(9999, 'x')).toMatchObject({ code: 'DEVICE_AFC_ERROR', pluginCode: 'AFC_E_9999' });
  });

  it('splits NUL lists and key/value lists', () => {
    expect(splitNulList(Buffer.from('.\0..\0a\0'))).toEqual(['.', '..', 'a']);
    expect(parseKeyValueList(Buffer.from('st_size\x0012\x00st_ifmt\x00S_IFREG\x00'))).toEqual({ st_size: '12', st_ifmt: 'S_IFREG' });
  });

  it('accepts only single safe path components', () => {
    for (const ok of ['IMG_0001.HEIC', 'a b', '.MISC']) expect(isSafeDeviceName(ok)).toBe(true);
    for (const bad of ['', '.', '..', '../x', 'a/b', 'a\0b', 'a\\b']) expect(isSafeDeviceName(bad)).toBe(false);
  });
});

describe('AfcClient against constructed replies', () => {
  it('refuses a listing with path traversal', async () => {
    const c = new AfcClient(fakeDevice((_op, num) => encodeAfcPacket(AfcOp.DATA, num, Buffer.from('.\0..\0ok.JPG\0../../etc/passwd\0'))));
    await expect(c.readDir('/DCIM/100APPLE')).rejects.toMatchObject({ code: 'NAME_UNSAFE' });
  });

  it('rejects a reply whose number does not match the request', async () => {
    const c = new AfcClient(fakeDevice((_op, num) => encodeAfcPacket(AfcOp.DATA, num + 1n, Buffer.from('.\0..\0'))));
    await expect(c.readDir('/')).rejects.toThrow(/does not match/);
    expect(c.usable).toBe(false);
  });

  it('maps an unknown AFC status and keeps the connection usable', async () => {
    let n = 0;
    const c = new AfcClient(fakeDevice((_op, num) => (n++ === 0 ? status(num, 77) : encodeAfcPacket(AfcOp.DATA, num, Buffer.from('.\0..\0a\0')))));
    await expect(c.getFileInfo('/x')).rejects.toMatchObject({ code: 'DEVICE_AFC_ERROR', pluginCode: 'AFC_E_77' });
    expect(await c.readDir('/')).toEqual(['a']);
  });

  it('rejects a non-numeric st_size', async () => {
    const c = new AfcClient(fakeDevice((_op, num) => encodeAfcPacket(AfcOp.DATA, num, Buffer.from('st_size\x00-5\x00st_ifmt\x00S_IFREG\x00'))));
    await expect(c.getFileInfo('/x')).rejects.toMatchObject({ code: 'DEVICE_PROTOCOL_ERROR' });
  });

  it('a DATA reply larger than asked is a protocol error, not an allocation', async () => {
    const c = new AfcClient(
      fakeDevice((op, num) => {
        if (op === AfcOp.FILE_OPEN) return encodeAfcPacket(AfcOp.FILE_OPEN_RES, num, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
        const h = encodeAfcPacket(AfcOp.DATA, num);
        h.writeBigUInt64LE(2n ** 40n, 8);
        return h;
      }),
    );
    const h = await c.open('/f');
    await expect(c.read(h, 1024)).rejects.toMatchObject({ code: 'DEVICE_PROTOCOL_ERROR' });
  });

  it('times out instead of hanging when the device stops answering', async () => {
    const c = new AfcClient(fakeDevice(() => undefined), { timeoutMs: 100 });
    await expect(c.getDeviceInfo()).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
