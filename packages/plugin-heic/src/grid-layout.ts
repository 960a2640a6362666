/**
 * Applies a HEIF image's display transforms (irot/imir, in file order) to its tile grid instead of
 * to the assembled picture: each tile is rotated or mirrored on its own — a 512×512 tile stays in
 * the CPU cache, where turning a whole 12 MP picture took ffmpeg ~200 ms — and the tiles are fed to
 * the `tile` filter in the order of the transformed grid. The result is the same picture.
 */
import type { DisplayTransform, HevcPlan } from './hevc-plan.js';

export interface GridLayout {
  /** Tile item ids in the order the `tile` filter must receive them (row-major, transformed grid). */
  tiles: number[];
  columns: number;
  rows: number;
  /** The picture inside the transformed canvas of whole tiles. */
  crop: { width: number; height: number; x: number; y: number };
  /** Whether the picture fills the canvas (no crop needed). */
  fillsCanvas: boolean;
}

interface State {
  grid: number[][];
  canvas: { width: number; height: number };
  rect: { x: number; y: number; width: number; height: number };
}

function rotateAnticlockwise({ grid, canvas, rect }: State): State {
  const rows = grid.length;
  const columns = grid[0]!.length;
  // A point (x, y) moves to (y, canvasWidth − 1 − x); tile (r, c) to (columns − 1 − c, r).
  const turned = Array.from({ length: columns }, (_, r) => Array.from({ length: rows }, (_, c) => grid[c]![columns - 1 - r]!));
  return {
    grid: turned,
    canvas: { width: canvas.height, height: canvas.width },
    rect: { x: rect.y, y: canvas.width - rect.x - rect.width, width: rect.height, height: rect.width },
  };
}

function mirror({ grid, canvas, rect }: State, mode: number): State {
  if (mode === 0) {
    // Top ↔ bottom.
    return { grid: [...grid].reverse(), canvas, rect: { ...rect, y: canvas.height - rect.y - rect.height } };
  }
  return { grid: grid.map((row) => [...row].reverse()), canvas, rect: { ...rect, x: canvas.width - rect.x - rect.width } };
}

function apply(state: State, t: DisplayTransform): State {
  if (t.type === 'imir') return mirror(state, t.mode);
  let s = state;
  for (let i = 0; i < (t.angle & 3); i++) s = rotateAnticlockwise(s);
  return s;
}

export function gridLayout(plan: Pick<HevcPlan, 'tiles' | 'columns' | 'rows' | 'tileWidth' | 'tileHeight' | 'width' | 'height' | 'transforms'>): GridLayout {
  const grid = Array.from({ length: plan.rows }, (_, r) => plan.tiles.slice(r * plan.columns, (r + 1) * plan.columns));
  let state: State = {
    grid,
    canvas: { width: plan.columns * plan.tileWidth, height: plan.rows * plan.tileHeight },
    rect: { x: 0, y: 0, width: plan.width, height: plan.height },
  };
  for (const t of plan.transforms) state = apply(state, t);
  const { rect, canvas } = state;
  return {
    tiles: state.grid.flat(),
    columns: state.grid[0]!.length,
    rows: state.grid.length,
    crop: { width: rect.width, height: rect.height, x: rect.x, y: rect.y },
    fillsCanvas: rect.x === 0 && rect.y === 0 && rect.width === canvas.width && rect.height === canvas.height,
  };
}
