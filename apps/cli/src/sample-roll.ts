import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_JPEGS_BASE64 } from './demo-images.js';

export interface SampleRollFile {
  path: string;
  bytes: number;
}

/** TIFF-in-APP1 EXIF block with DateTimeOriginal and OffsetTimeOriginal (big-endian, two IFDs). */
export function exifSegment(dateTimeOriginal: string, offset: string): Uint8Array {
  const dto = Buffer.from(`${dateTimeOriginal}\0`, 'latin1'); // "YYYY:MM:DD HH:MM:SS\0" = 20 bytes
  const off = Buffer.from(`${offset}\0`, 'latin1'); // "+02:00\0" = 7 bytes
  const tiff = Buffer.alloc(8 + 18 + 30 + dto.length + off.length);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  // IFD0: one entry, ExifIFDPointer → 26
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x8769, 10);
  tiff.writeUInt16BE(4, 12); // LONG
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt32BE(26, 18);
  tiff.writeUInt32BE(0, 22);
  // Exif IFD at 26: DateTimeOriginal, OffsetTimeOriginal (ASCII, values after the IFD)
  const dataAt = 26 + 30;
  tiff.writeUInt16BE(2, 26);
  tiff.writeUInt16BE(0x9003, 28);
  tiff.writeUInt16BE(2, 30);
  tiff.writeUInt32BE(dto.length, 32);
  tiff.writeUInt32BE(dataAt, 36);
  tiff.writeUInt16BE(0x9011, 40);
  tiff.writeUInt16BE(2, 42);
  tiff.writeUInt32BE(off.length, 44);
  tiff.writeUInt32BE(dataAt + dto.length, 48);
  tiff.writeUInt32BE(0, 52);
  dto.copy(tiff, dataAt);
  off.copy(tiff, dataAt + dto.length);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xffe1, 0);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

function commentSegment(text: string): Uint8Array {
  const body = Buffer.from(text, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xfffe, 0);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** A valid JPEG: SOI, our EXIF and comment, then the rest of a sample image. */
export function sampleJpeg(index: number, dateTimeOriginal: string, offset: string, comment: string): Uint8Array {
  const base = Buffer.from(SAMPLE_JPEGS_BASE64[index % SAMPLE_JPEGS_BASE64.length]!, 'base64');
  return Buffer.concat([base.subarray(0, 2), exifSegment(dateTimeOriginal, offset), commentSegment(comment), base.subarray(2)]);
}

function aaePlist(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>adjustmentBaseVersion</key>
\t<integer>0</integer>
\t<key>adjustmentFormatIdentifier</key>
\t<string>com.apple.photo</string>
\t<key>adjustmentFormatVersion</key>
\t<string>1.5</string>
</dict>
</plist>
`;
}

/**
 * Writes a small iPhone-like camera roll under `dir/DCIM`: photos spread over two years with EXIF
 * capture dates, an edited variant with its .AAE sidecar, and one photo that appears twice under
 * different names (to show content dedupe). File mtimes are set to the capture times.
 */
export async function writeSampleRoll(dir: string, count = 24): Promise<SampleRollFile[]> {
  const files: SampleRollFile[] = [];
  const write = async (rel: string, bytes: Uint8Array | string, when: Date) => {
    const path = join(dir, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bytes);
    await utimes(path, when, when);
    files.push({ path, bytes: typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength });
  };
  const start = Date.UTC(2024, 4, 18, 9, 30, 0);
  let first: Uint8Array | undefined;
  for (let i = 1; i <= count; i++) {
    // every ~30 days, at varying hours; wall time in UTC+02:00
    const t = new Date(start + (i - 1) * 30.4 * 86_400_000 + (i % 7) * 3_600_000);
    const local = new Date(t.getTime() + 2 * 3_600_000);
    const exifDate = local.toISOString().slice(0, 19).replace(/-/g, ':').replace('T', ' ');
    const name = `IMG_${String(i).padStart(4, '0')}`;
    const jpeg = sampleJpeg(i, exifDate, '+02:00', `keepsake demo photo ${i}`);
    first ??= jpeg;
    await write(`DCIM/100APPLE/${name}.JPG`, jpeg, t);
    if (i === 3) {
      await write(`DCIM/100APPLE/IMG_E${String(i).padStart(4, '0')}.JPG`, sampleJpeg(i + 1, exifDate, '+02:00', `keepsake demo photo ${i}, edited`), t);
      await write(`DCIM/100APPLE/${name}.AAE`, aaePlist(), t);
    }
  }
  // the same bytes again under another name, as after a phone's IMG_9999 wrap-around
  if (first) await write('DCIM/101APPLE/IMG_0101.JPG', first, new Date(start));
  return files;
}
