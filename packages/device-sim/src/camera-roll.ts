/**
 * A generated camera roll in the layout iPhones show over AFC: /DCIM/100APPLE, 101APPLE, …,
 * IMG_0001…IMG_9999 shared across folders and wrapping to a new folder after 9999, Live Photo
 * pairs (IMG_n.JPG + IMG_n.MOV), edits (IMG_En.HEIC + IMG_n.AAE), videos, and large videos.
 * Built from the real sample files in shared/fixtures/real; deterministic for a given seed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesContent, type Content, prng, taggedContent } from './content.js';

export interface CameraRollOptions {
  /** Number of assets (photos, Live Photos, videos). Default 60. */
  assets?: number;
  seed?: number;
  fixturesDir?: string;
  /** Size of the large videos (every `largeVideoEvery`-th asset). Default 8 MiB. */
  largeVideoBytes?: number;
  /** 0 disables large videos. Default 25. */
  largeVideoEvery?: number;
  /** First IMG_ number. Default chosen so ≥ 300 assets cross IMG_9999. */
  startNumber?: number;
  /** Files per DCIM folder before the next one starts. Default 300. */
  perFolder?: number;
  /** Capture time of the first asset (ms since epoch). */
  startTimeMs?: number;
  /**
   * Build stills from the small fixtures (8–60 kB instead of 0.7–3.5 MB) so a roll of hundreds of
   * assets stays a few hundred MB: for end-to-end tests that copy everything.
   */
  compact?: boolean;
}

export interface SimFile {
  path: string;
  content: Content;
  mtimeMs: number;
  birthtimeMs: number;
  /** Size announced by GET_FILE_INFO when it differs from the real content (fault injection). */
  reportedSize?: number;
  /** Reads are refused with PERM_DENIED (PhotoData on modern iOS). */
  denied?: boolean;
}

export interface SimFs {
  dirs: Map<string, string[]>;
  files: Map<string, SimFile>;
}

/** shared/fixtures/real, found next to the work tree (or a CI clone) or from KEEPSAKE_FIXTURES_DIR. */
export function findFixturesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KEEPSAKE_FIXTURES_DIR) return env.KEEPSAKE_FIXTURES_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    for (const candidate of [join(dir, 'shared/fixtures/real'), join(dir, '../shared/fixtures/real')]) {
      if (existsSync(join(candidate, 'live-photo'))) return resolve(candidate);
    }
    dir = dirname(dir);
  }
  throw new Error('keepsake-sim: cannot find shared/fixtures/real; set KEEPSAKE_FIXTURES_DIR');
}

interface Fixtures {
  heic: Buffer[];
  liveStill: Buffer;
  liveMotion: Buffer;
  jpeg: Buffer[];
  video: Buffer;
  corrupt: Buffer;
}

function loadFixtures(dir: string, compact: boolean): Fixtures {
  const f = (p: string) => readFileSync(join(dir, p));
  if (compact)
    return {
      heic: [f('motion-photo/sample_MP.heic'), f('motion-photo/sample_MP.heic')],
      liveStill: f('motion-photo/ss-motion-photo-shortened.jpg'),
      liveMotion: f('video/meta.mov'),
      jpeg: [f('edge-cases/noexif.jpg'), f('motion-photo/pixel-motion-photo-shortened.jpg')],
      video: f('video/meta.mov'),
      corrupt: f('edge-cases/corrupted.heic'),
    };
  return {
    heic: [f('heic/IMG_2682.heic'), f('heic/IMG_2927.HEIC')],
    liveStill: f('live-photo/train.jpg'),
    liveMotion: f('live-photo/train.mov'),
    jpeg: [f('motion-photo/motion_photo.jpeg'), f('edge-cases/noexif.jpg')],
    video: f('video/meta.mov'),
    corrupt: f('edge-cases/corrupted.heic'),
  };
}

const fixtureCache = new Map<string, Fixtures>();

export function corruptFixture(dir?: string): Buffer {
  return fixturesFor(dir ?? findFixturesDir(), true).corrupt;
}

function fixturesFor(dir: string, compact: boolean): Fixtures {
  const key = `${compact}:${dir}`;
  let f = fixtureCache.get(key);
  if (!f) {
    f = loadFixtures(dir, compact);
    fixtureCache.set(key, f);
  }
  return f;
}

function aae(base: string, seed: number): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>adjustmentBaseVersion</key>
\t<integer>0</integer>
\t<key>adjustmentData</key>
\t<data>${Buffer.from(`sim-adjustment ${base} ${seed}`).toString('base64')}</data>
\t<key>adjustmentEditorBundleID</key>
\t<string>com.apple.mobileslideshow</string>
\t<key>adjustmentFormatIdentifier</key>
\t<string>com.apple.photo</string>
\t<key>adjustmentFormatVersion</key>
\t<string>1.5</string>
</dict>
</plist>
`,
    'utf8',
  );
}

export function buildCameraRoll(options: CameraRollOptions = {}): SimFs {
  const count = options.assets ?? 60;
  const seed = options.seed ?? 1;
  const fx = fixturesFor(options.fixturesDir ?? findFixturesDir(), options.compact ?? false);
  const largeBytes = options.largeVideoBytes ?? 8 * 1024 * 1024;
  const largeEvery = options.largeVideoEvery ?? 25;
  const perFolder = options.perFolder ?? 300;
  const rand = prng(seed);
  let number = options.startNumber ?? Math.max(1, 10000 - Math.floor(count / 2));
  let folder = 100;
  let inFolder = 0;
  let time = options.startTimeMs ?? Date.UTC(2024, 5, 1, 9, 0, 0);

  const dirs = new Map<string, string[]>();
  const files = new Map<string, SimFile>();
  const addDir = (path: string) => {
    if (dirs.has(path)) return;
    dirs.set(path, []);
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    if (path !== '/') {
      addDir(parent);
      dirs.get(parent)?.push(path.slice(path.lastIndexOf('/') + 1));
    }
  };
  for (const d of ['/DCIM/.MISC/Incoming', '/Books', '/Downloads', '/iTunes_Control/iTunes', '/PhotoData', '/Recordings']) addDir(d);
  const addFile = (path: string, content: Content, extra: Partial<SimFile> = {}) => {
    const parent = path.slice(0, path.lastIndexOf('/'));
    addDir(parent);
    dirs.get(parent)?.push(path.slice(parent.length + 1));
    files.set(path, { path, content, mtimeMs: time, birthtimeMs: time, ...extra });
  };
  addFile('/PhotoData/Photos.sqlite', bytesContent(Buffer.from('SQLite format 3\0')), { denied: true });
  addFile('/com.apple.itunes.lock_sync', bytesContent(Buffer.alloc(0)));

  const folderPath = () => `/DCIM/${folder}APPLE`;
  for (let i = 0; i < count; i++) {
    const n = String(number).padStart(4, '0');
    const dir = folderPath();
    const id = `${seed}:${i}`;
    const r = rand();
    const tag = (prefix: Buffer, suffix: string, size = 0) => taggedContent(prefix, `${id}:${suffix}`, size, seed);
    let made = 0;
    if (largeEvery > 0 && i % largeEvery === largeEvery - 1) {
      addFile(`${dir}/IMG_${n}.MOV`, tag(fx.video, 'large', largeBytes));
      made = 1;
    } else if (r < 0.35) {
      addFile(`${dir}/IMG_${n}.HEIC`, tag(fx.heic[i % 2] as Buffer, 'heic'));
      made = 1;
    } else if (r < 0.6) {
      addFile(`${dir}/IMG_${n}.JPG`, tag(fx.liveStill, 'still'));
      addFile(`${dir}/IMG_${n}.MOV`, tag(fx.liveMotion, 'motion'));
      made = 2;
    } else if (r < 0.75) {
      addFile(`${dir}/IMG_${n}.HEIC`, tag(fx.heic[0] as Buffer, 'orig'));
      addFile(`${dir}/IMG_E${n}.HEIC`, tag(fx.heic[1] as Buffer, 'edit'));
      addFile(`${dir}/IMG_${n}.AAE`, bytesContent(aae(`IMG_${n}`, seed)));
      made = 3;
    } else if (r < 0.9) {
      addFile(`${dir}/IMG_${n}.JPG`, tag(fx.jpeg[i % 2] as Buffer, 'jpeg'));
      made = 1;
    } else {
      addFile(`${dir}/IMG_${n}.MOV`, tag(fx.video, 'video'));
      made = 1;
    }
    time += Math.floor(60_000 + rand() * 3_600_000);
    inFolder += made;
    number += 1;
    if (number > 9999) {
      number = 1;
      folder += 1;
      inFolder = 0;
    } else if (inFolder >= perFolder) {
      folder += 1;
      inFolder = 0;
    }
  }
  return { dirs, files };
}
