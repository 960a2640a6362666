/** The parts of Graph's driveItem keepsake reads. */
export interface DriveItem {
  id: string;
  name: string;
  size?: number;
  eTag?: string;
  parentReference?: { driveId?: string; path?: string };
  file?: { mimeType?: string; hashes?: { quickXorHash?: string; sha1Hash?: string; sha256Hash?: string } };
  folder?: { childCount?: number };
  fileSystemInfo?: { createdDateTime?: string; lastModifiedDateTime?: string };
  webUrl?: string;
}

export interface Drive {
  id: string;
  driveType?: 'personal' | 'business' | 'documentLibrary' | string;
}

/** createUploadSession and upload-URL status answers. */
export interface UploadSessionInfo {
  uploadUrl?: string;
  expirationDateTime?: string;
  nextExpectedRanges?: string[];
}

export type ConflictBehavior = 'rename' | 'fail' | 'replace';
