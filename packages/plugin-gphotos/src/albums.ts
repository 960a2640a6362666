import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PhotosLibraryApi } from './api.js';

/**
 * Album title → id for app-created albums. Ids are remembered in a small JSON file so a later run
 * adds to the same album instead of creating a second one with the same title; the first lookup
 * of a run lists the app's albums once. One creation per title even with concurrent puts.
 */
export class AlbumResolver {
  private readonly byTitle = new Map<string, Promise<string>>();
  private listed: Promise<Map<string, string>> | undefined;
  private readonly gone = new Map<string, Promise<boolean>>();
  /** Cache writes one after another: concurrent titles must not lose each other's ids. */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: PhotosLibraryApi,
    private readonly cacheFile: string,
  ) {}

  idFor(title: string, signal: AbortSignal): Promise<string> {
    let p = this.byTitle.get(title);
    if (!p) {
      p = this.resolve(title, signal);
      this.byTitle.set(title, p);
      p.catch(() => this.byTitle.delete(title));
    }
    return p;
  }

  /**
   * Drops a remembered id that Google no longer takes (the album was deleted in Google Photos): the
   * next `idFor` lists the app's albums again and creates the album anew only when it is not there.
   */
  async forget(title: string, id: string): Promise<void> {
    this.byTitle.delete(title);
    this.listed = undefined;
    const write = this.writes.then(async () => {
      const cache = await this.readCache();
      if (cache[title] !== id) return;
      delete cache[title];
      await this.writeCache(cache);
    });
    this.writes = write.catch(() => {});
    await write;
  }

  /**
   * Whether an album id is no longer among the app's albums (deleted in Google Photos): the only
   * evidence that lets a refused batchCreate be blamed on the album. Google answers a batchCreate
   * naming an album it will not add to with the same 400 INVALID_ARGUMENT as a malformed request or
   * a bad upload token ("No permission to add media items to this album." / "Request contains an
   * invalid argument."), so the status alone says nothing. Listed afresh, once per id and sink: a
   * refused batch of 50 items asks once. A failed listing is not evidence either way (rejects).
   */
  isGone(id: string, signal: AbortSignal): Promise<boolean> {
    let p = this.gone.get(id);
    if (!p) {
      p = this.api.listAlbums(signal).then((albums) => !albums.some((a) => a.id === id));
      this.gone.set(id, p);
      p.catch(() => this.gone.delete(id));
    }
    return p;
  }

  private async resolve(title: string, signal: AbortSignal): Promise<string> {
    const cache = await this.readCache();
    if (cache[title]) return cache[title];
    this.listed ??= this.api.listAlbums(signal).then((albums) => new Map(albums.map((a) => [a.title, a.id])));
    const existing = (await this.listed).get(title);
    const id = existing ?? (await this.api.createAlbum(title, signal)).id;
    const write = this.writes.then(async () => this.writeCache({ ...(await this.readCache()), [title]: id }));
    this.writes = write.catch(() => {});
    await write;
    return id;
  }

  private async readCache(): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(this.cacheFile, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  private async writeCache(data: Record<string, string>): Promise<void> {
    await mkdir(dirname(this.cacheFile), { recursive: true });
    const tmp = `${this.cacheFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(data, null, 2));
    await rename(tmp, this.cacheFile);
  }
}
