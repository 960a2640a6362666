import { describe, expect, it } from 'vitest';
import { gridLayout } from './grid-layout.js';
import type { DisplayTransform } from './hevc-plan.js';

type Picture = number[][];

/** Whole-picture transforms, the way a viewer (and libheif) applies them. */
function transformPicture(p: Picture, t: DisplayTransform): Picture {
  if (t.type === 'imir') return t.mode === 0 ? [...p].reverse() : p.map((row) => [...row].reverse());
  let out = p;
  for (let i = 0; i < t.angle; i++) {
    const h = out.length;
    const w = out[0]!.length;
    // Anticlockwise: new row r is old column w − 1 − r.
    const src = out;
    out = Array.from({ length: w }, (_, r) => Array.from({ length: h }, (_, c) => src[c]![w - 1 - r]!));
  }
  return out;
}

const crop = (p: Picture, x: number, y: number, w: number, h: number) => p.slice(y, y + h).map((row) => row.slice(x, x + w));

describe('gridLayout', () => {
  // A 3 × 2 grid of 4 × 3 tiles holding a 10 × 5 picture (the last column and row are padded).
  const columns = 3;
  const rows = 2;
  const tileWidth = 4;
  const tileHeight = 3;
  const width = 10;
  const height = 5;
  const canvas: Picture = Array.from({ length: rows * tileHeight }, (_, y) => Array.from({ length: columns * tileWidth }, (_, x) => (x < width && y < height ? y * 100 + x : -1)));
  const tileIds = Array.from({ length: columns * rows }, (_, i) => 100 + i);
  const tileContent = (id: number): Picture => {
    const i = id - 100;
    return crop(canvas, (i % columns) * tileWidth, Math.floor(i / columns) * tileHeight, tileWidth, tileHeight);
  };

  const sequences: DisplayTransform[][] = [];
  for (const angle of [0, 1, 2, 3]) {
    for (const mode of [undefined, 0, 1]) {
      const seq: DisplayTransform[] = angle ? [{ type: 'irot', angle }] : [];
      if (mode !== undefined) seq.push({ type: 'imir', mode });
      sequences.push(seq);
      if (angle && mode !== undefined) sequences.push([...seq].reverse()); // mirror first, then turn
    }
  }

  for (const transforms of sequences) {
    it(`per-tile transforms + reordered grid + crop = the whole picture transformed: ${JSON.stringify(transforms)}`, () => {
      const layout = gridLayout({ tiles: tileIds, columns, rows, tileWidth, tileHeight, width, height, transforms });
      const tiles = layout.tiles.map((id) => transforms.reduce(transformPicture, tileContent(id)));
      const tw = tiles[0]![0]!.length;
      const th = tiles[0]!.length;
      const assembled: Picture = Array.from({ length: layout.rows * th }, (_, y) =>
        Array.from({ length: layout.columns * tw }, (_, x) => tiles[Math.floor(y / th) * layout.columns + Math.floor(x / tw)]![y % th]![x % tw]!),
      );
      const expected = transforms.reduce(transformPicture, crop(canvas, 0, 0, width, height));
      expect(crop(assembled, layout.crop.x, layout.crop.y, layout.crop.width, layout.crop.height)).toEqual(expected);
      expect(layout.fillsCanvas).toBe(false);
    });
  }

  it('needs no crop when the picture fills its tiles', () => {
    const layout = gridLayout({ tiles: [1, 2, 3, 4], columns: 2, rows: 2, tileWidth: 8, tileHeight: 8, width: 16, height: 16, transforms: [{ type: 'irot', angle: 1 }] });
    expect(layout).toMatchObject({ tiles: [2, 4, 1, 3], fillsCanvas: true, crop: { x: 0, y: 0, width: 16, height: 16 } });
  });
});
