/** A value decoded from an XML or binary property list. */
export type PlistValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | Uint8Array
  | PlistUid
  | null
  | PlistValue[]
  | PlistDict;

/** Dictionaries have a null prototype, so keys such as `__proto__` are plain data. */
export interface PlistDict {
  [key: string]: PlistValue;
}

/** A CF$UID reference (binary plists written by NSKeyedArchiver). */
export class PlistUid {
  constructor(readonly value: number) {}
}

export function isPlistDict(v: PlistValue | undefined): v is PlistDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date) && !(v instanceof PlistUid) && !Array.isArray(v);
}

export function newDict(): PlistDict {
  return Object.create(null) as PlistDict;
}

/** Seconds between the Unix epoch and Apple's reference date 2001-01-01T00:00:00Z. */
export const APPLE_EPOCH_OFFSET_S = 978_307_200;
