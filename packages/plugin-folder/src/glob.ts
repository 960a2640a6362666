/**
 * Glob-ish patterns for include/exclude: `*` and `?` stay within one path segment, `**` crosses
 * folders, `{a,b}` lists alternatives. A pattern without `/` matches the file or folder name at
 * any depth (like .gitignore); one with `/` matches the path from the root. Case-insensitive,
 * because camera extensions come in both cases.
 */
export function compileGlob(pattern: string): RegExp {
  const p = pattern.replace(/\\/g, '/').replace(/^\.\//, '').replace(/^\//, '');
  const anchored = p.includes('/');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = p.indexOf('}', i);
      if (end === -1) re += '\\{';
      else {
        re += `(?:${p
          .slice(i + 1, end)
          .split(',')
          .map((alt) => alt.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
          .join('|')})`;
        i = end;
      }
    } else re += c.replace(/[.+^$(){}|[\]\\]/g, '\\$&');
  }
  return new RegExp(anchored ? `^${re}$` : `(?:^|/)${re}$`, 'i');
}

export interface PathFilter {
  /** Whether a file (relative POSIX path) is taken. */
  file(path: string): boolean;
  /** Whether a folder is entered at all. */
  folder(path: string): boolean;
}

export function pathFilter(include: readonly string[] = [], exclude: readonly string[] = []): PathFilter {
  const inc = include.map(compileGlob);
  const exc = exclude.map(compileGlob);
  return {
    file: (path) => (inc.length === 0 || inc.some((r) => r.test(path))) && !exc.some((r) => r.test(path)),
    // `Trash/**` excludes the folder itself too; `Trash` matches it by name.
    folder: (path) => !exc.some((r) => r.test(path) || r.test(`${path}/`)),
  };
}
