/**
 * Test-only: adds an `imir` (mirror) property to the primary item of a simple HEIC (one coded
 * item, meta before mdat, as heif-enc writes), so mirroring can be tested on a real encoder's
 * file. Grows `ipco`, `ipma`, `iprp` and `meta` and shifts `iloc`'s file offsets accordingly.
 */
function u32(b: Buffer, at: number): number {
  return b.readUInt32BE(at);
}

function children(b: Buffer, start: number, end: number): { type: string; at: number; size: number }[] {
  const out: { type: string; at: number; size: number }[] = [];
  for (let at = start; at < end; ) {
    const size = u32(b, at);
    out.push({ type: b.toString('latin1', at + 4, at + 8), at, size });
    at += size;
  }
  return out;
}

export function addImir(file: Buffer, mode: 0 | 1): Buffer {
  const top = children(file, 0, file.length);
  const meta = top.find((c) => c.type === 'meta');
  const mdat = top.find((c) => c.type === 'mdat');
  if (!meta || !mdat || mdat.at < meta.at) throw new Error('expected meta before mdat');
  const metaKids = children(file, meta.at + 12, meta.at + meta.size);
  const iprp = metaKids.find((c) => c.type === 'iprp');
  const iloc = metaKids.find((c) => c.type === 'iloc');
  const pitm = metaKids.find((c) => c.type === 'pitm');
  if (!iprp || !iloc || !pitm) throw new Error('expected iprp, iloc, pitm');
  const primary = file.readUInt16BE(pitm.at + 12);
  const iprpKids = children(file, iprp.at + 8, iprp.at + iprp.size);
  const ipco = iprpKids.find((c) => c.type === 'ipco');
  const ipma = iprpKids.find((c) => c.type === 'ipma');
  if (!ipco || !ipma) throw new Error('expected ipco, ipma');
  const propertyIndex = children(file, ipco.at + 8, ipco.at + ipco.size).length + 1;
  // ipma: version 0, flags 0 → u16 item ids, u8 associations (essential bit 0x80).
  if (file[ipma.at + 8] !== 0 || (file.readUInt32BE(ipma.at + 8) & 1) !== 0) throw new Error('expected ipma version 0, flags 0');
  const entries = u32(file, ipma.at + 12);
  let p = ipma.at + 16;
  let insertAssociationAt = -1;
  for (let i = 0; i < entries; i++) {
    const item = file.readUInt16BE(p);
    const count = file[p + 2] as number;
    if (item === primary) {
      file[p + 2] = count + 1;
      insertAssociationAt = p + 3 + count;
    }
    p += 3 + count;
  }
  if (insertAssociationAt < 0) throw new Error('primary item has no ipma entry');
  const imir = Buffer.from([0, 0, 0, 9, 0x69, 0x6d, 0x69, 0x72, mode]);
  const delta = imir.length + 1;
  const ipcoEnd = ipco.at + ipco.size;
  const out = Buffer.concat([
    file.subarray(0, ipcoEnd),
    imir,
    file.subarray(ipcoEnd, insertAssociationAt),
    Buffer.from([0x80 | propertyIndex]),
    file.subarray(insertAssociationAt),
  ]);
  const grow = (at: number, by: number) => out.writeUInt32BE(u32(out, at) + by, at);
  grow(meta.at, delta);
  grow(iprp.at, delta);
  grow(ipco.at, imir.length);
  grow(ipma.at + imir.length, 1);
  // iloc precedes iprp in heif-enc's files? Find it again in the output and shift file offsets.
  const ilocAt = iloc.at < ipco.at ? iloc.at : iloc.at + delta;
  const version = out[ilocAt + 8] as number;
  const offsetSize = (out[ilocAt + 12] as number) >> 4;
  const lengthSize = (out[ilocAt + 12] as number) & 15;
  const baseSize = (out[ilocAt + 13] as number) >> 4;
  const indexSize = version >= 1 ? (out[ilocAt + 13] as number) & 15 : 0;
  let q = ilocAt + 14;
  const count = version < 2 ? out.readUInt16BE(q) : u32(out, q);
  q += version < 2 ? 2 : 4;
  const read = (size: number, at: number) => (size === 4 ? u32(out, at) : size === 8 ? Number(out.readBigUInt64BE(at)) : 0);
  const write = (size: number, at: number, v: number) => (size === 4 ? out.writeUInt32BE(v, at) : size === 8 ? out.writeBigUInt64BE(BigInt(v), at) : undefined);
  for (let i = 0; i < count; i++) {
    q += version < 2 ? 2 : 4;
    const construction = version >= 1 ? out.readUInt16BE(q) & 15 : 0;
    if (version >= 1) q += 2;
    q += 2; // data reference index
    const baseAt = q;
    q += baseSize;
    const extents = out.readUInt16BE(q);
    q += 2;
    if (construction === 0 && baseSize > 0) write(baseSize, baseAt, read(baseSize, baseAt) + delta);
    for (let e = 0; e < extents; e++) {
      q += indexSize;
      if (construction === 0 && baseSize === 0) write(offsetSize, q, read(offsetSize, q) + delta);
      q += offsetSize + lengthSize;
    }
  }
  return out;
}
