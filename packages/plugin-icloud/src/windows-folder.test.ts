import { describe, expect, it } from 'vitest';
import { detectWindowsICloudPhotosFolder, windowsICloudPhotosCandidates } from './windows-folder.js';

const env = { USERPROFILE: 'C:\\Users\\Ana', OneDrive: 'C:\\Users\\Ana\\OneDrive' };

describe('iCloud for Windows folder detection', () => {
  it('tries the documented folder first, then older and moved layouts', () => {
    expect(windowsICloudPhotosCandidates(env)).toEqual([
      'C:\\Users\\Ana\\Pictures\\iCloud Photos\\Photos',
      'C:\\Users\\Ana\\Pictures\\iCloud Photos\\Uploads',
      'C:\\Users\\Ana\\OneDrive\\Pictures\\iCloud Photos\\Photos',
      'C:\\Users\\Ana\\OneDrive\\Pictures\\iCloud Photos\\Uploads',
      'C:\\Users\\Ana\\iCloudPhotos\\Photos',
      'C:\\Users\\Ana\\iCloudPhotos',
    ]);
    expect(windowsICloudPhotosCandidates({ HOMEDRIVE: 'D:', HOMEPATH: '\\Users\\Bo' })[0]).toBe('D:\\Users\\Bo\\Pictures\\iCloud Photos\\Photos');
    expect(windowsICloudPhotosCandidates({})).toEqual([]);
  });

  it('returns the first folder that exists', async () => {
    const present = new Set(['C:\\Users\\Ana\\OneDrive\\Pictures\\iCloud Photos\\Photos', 'C:\\Users\\Ana\\iCloudPhotos']);
    const found = await detectWindowsICloudPhotosFolder(env, async (p) => present.has(p));
    expect(found.path).toBe('C:\\Users\\Ana\\OneDrive\\Pictures\\iCloud Photos\\Photos');
    const none = await detectWindowsICloudPhotosFolder(env, async () => false);
    expect(none.path).toBeUndefined();
    expect(none.tried).toHaveLength(6);
  });
});
