/**
 * Just enough semver to check `engines.keepsake` ranges without a dependency: `*`, `x.y.z`,
 * `^x.y.z`, `~x.y.z`, `>=x.y.z`, `>x`, `<=`, `<`, space-separated (AND) and `||` (OR).
 */
type V = [number, number, number];

function parse(v: string): V | undefined {
  const m = v.trim().replace(/^v/, '').match(/^(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?(?:-[\w.]+)?$/);
  if (!m) return undefined;
  const n = (s: string | undefined) => (s === undefined || s === 'x' || s === '*' ? 0 : Number(s));
  return [n(m[1]), n(m[2]), n(m[3])];
}

function cmp(a: V, b: V): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function satisfiesOne(version: V, comparator: string): boolean {
  const c = comparator.trim();
  if (c === '' || c === '*' || c === 'x') return true;
  const m = c.match(/^(\^|~|>=|<=|>|<|=)?\s*(.+)$/);
  if (!m) return false;
  const op = m[1] ?? '=';
  const target = parse(m[2]!);
  if (!target) return false;
  switch (op) {
    case '^': {
      if (cmp(version, target) < 0) return false;
      if (target[0] > 0) return version[0] === target[0];
      if (target[1] > 0) return version[0] === 0 && version[1] === target[1];
      return version[0] === 0 && version[1] === 0 && version[2] === target[2];
    }
    case '~':
      return cmp(version, target) >= 0 && version[0] === target[0] && version[1] === target[1];
    case '>=':
      return cmp(version, target) >= 0;
    case '<=':
      return cmp(version, target) <= 0;
    case '>':
      return cmp(version, target) > 0;
    case '<':
      return cmp(version, target) < 0;
    default:
      return cmp(version, target) === 0;
  }
}

/** True when `version` satisfies `range`; an unparseable range or version is "not satisfied". */
export function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  if (!v) return false;
  return range.split('||').some((alt) =>
    alt
      .trim()
      .split(/\s+(?![^\d]*$)|\s+(?=[<>=^~])/)
      .filter(Boolean)
      .every((c) => satisfiesOne(v, c)),
  );
}
