import type { Asset, Resource, Source } from '@keepsake/core';

/** An asset from generated resources: a Live Photo when it has several, captured mid-2024. */
export const generatedAsset = (id: string, resources: Resource[]): Asset => ({
  id,
  kind: resources.length > 1 ? 'live' : 'photo',
  capturedAt: { local: '2024-06-01T12:00:00', source: 'exif' },
  resources,
});

/** A source that yields the given assets (for driving core's pipeline directly). */
export const sourceOf = (assets: Asset[]): Source => ({
  key: 'e2e:generated',
  capabilities: { expensiveReads: false, canDelete: false },
  async *scan() {
    yield* assets;
  },
});
