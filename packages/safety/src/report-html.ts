import type { Status } from './status.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (n: number) => n.toLocaleString('en-US');

function bytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Stacked bars per year: protected (green) under at-risk (orange), with counts. Plain SVG, no script. */
function yearChart(status: Status): string {
  const years = status.years;
  if (years.length === 0) return '<p class="muted">No photos recorded yet. Run a backup first.</p>';
  const max = Math.max(...years.map((y) => y.protected + y.atRisk), 1);
  const barW = 44;
  const gap = 18;
  const h = 180;
  const w = years.length * (barW + gap) + gap;
  const bars = years
    .map((y, i) => {
      const x = gap + i * (barW + gap);
      const hp = Math.round((y.protected / max) * h);
      const hr = Math.round((y.atRisk / max) * h);
      return `<g data-year="${esc(y.year)}">
  <rect x="${x}" y="${20 + h - hp}" width="${barW}" height="${hp}" fill="#2e7d32"><title>${esc(y.year)}: ${num(y.protected)} protected</title></rect>
  <rect x="${x}" y="${20 + h - hp - hr}" width="${barW}" height="${hr}" fill="#ef6c00"><title>${esc(y.year)}: ${num(y.atRisk)} at risk</title></rect>
  <text x="${x + barW / 2}" y="${20 + h - hp - hr - 4}" text-anchor="middle" font-size="11">${num(y.protected + y.atRisk)}</text>
  <text x="${x + barW / 2}" y="${h + 36}" text-anchor="middle" font-size="12">${esc(y.year)}</text>
</g>`;
    })
    .join('\n');
  return `<svg role="img" aria-label="Photos per year: protected and at risk" width="${w}" height="${h + 44}" viewBox="0 0 ${w} ${h + 44}">${bars}</svg>`;
}

/**
 * One self-contained page (no network, no script needed) a non-technical person understands at a
 * glance: a headline, big numbers, a per-year chart of protected vs at-risk photos, the at-risk list.
 * The JSON it was made from is embedded for tools (`#keepsake-status`).
 */
export function renderStatusHtml(status: Status, title = 'keepsake — are my photos safe?'): string {
  const o = status.overall;
  const safe = o.atRisk === 0 && o.assets > 0;
  const headline = o.assets === 0 ? 'Nothing backed up yet' : safe ? 'All your photos are safe' : `${num(o.atRisk)} of ${num(o.assets)} need attention`;
  const rule = `Protected means at least ${status.minCopies} checked copies${status.requireOffsite ? ', one of them off-site' : ''}.`;
  const shown = status.atRisk.slice(0, 1000);
  const prunedAtRisk = status.atRisk.filter((a) => a.prunedAt).length;
  const riskRows = shown
    .map(
      (a) =>
        `<tr><td>${esc(a.assetId)}</td><td>${esc(a.capturedAt?.replace('T', ' ') ?? 'unknown date')}</td><td>${esc(bytes(a.bytes))}</td><td>${a.copies}</td><td>${a.offsiteCopies}</td><td>${esc(a.reason)}</td></tr>`,
    )
    .join('\n');
  const sinkRows = status.sinks
    .map(
      (s) =>
        `<tr><td>${esc(s.use)}</td><td class="mono">${esc(s.sinkKey)}</td><td>${s.offsite ? 'off-site' : 'on-site'}</td><td>${s.canVerify ? 'yes' : 'no (unverifiable)'}</td><td>${esc(s.lastRunAt?.replace('T', ' ').slice(0, 19) ?? 'never')}</td></tr>`,
    )
    .join('\n');
  const json = JSON.stringify(status).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:960px;padding:0 1rem;color:#1b1b1b;background:#fafafa}
h1{font-size:2rem;margin:.2rem 0}.ok{color:#2e7d32}.warn{color:#c62828}.muted{color:#666}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1.5rem 0}.card{background:#fff;border-radius:12px;padding:1rem 1.4rem;box-shadow:0 1px 3px #0002;min-width:150px}
.card b{display:block;font-size:2rem}table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}td,th{padding:.35rem .6rem;border-bottom:1px solid #eee;text-align:left}
.mono{font-family:ui-monospace,monospace;font-size:.8rem}.legend span{display:inline-block;width:12px;height:12px;margin:0 .3rem 0 1rem;vertical-align:middle}
</style></head><body>
<p class="muted">keepsake status${status.pipeline ? ` — pipeline ${esc(status.pipeline)}` : ''} · ${esc(status.generatedAt.replace('T', ' ').slice(0, 19))} UTC</p>
<h1 class="${safe ? 'ok' : 'warn'}" id="headline">${esc(headline)}</h1>
<p>${esc(rule)}</p>
<div class="cards">
  <div class="card"><b data-metric="assets">${num(o.assets)}</b>photos and videos (${esc(bytes(o.bytes))})</div>
  <div class="card ok"><b data-metric="protected">${num(o.protected)}</b>protected</div>
  <div class="card warn"><b data-metric="atRisk">${num(o.atRisk)}</b>at risk</div>
  <div class="card"><b data-metric="offsite">${num(o.offsite)}</b>with an off-site copy</div>
</div>
${
  o.pruned
    ? `<p id="pruned"><b data-metric="pruned">${num(o.pruned)}</b> of these were deleted from their source by <code>keepsake prune</code>: the copies counted here are all that is left of them${prunedAtRisk ? `, and <b>${num(prunedAtRisk)}</b> of them ${prunedAtRisk === 1 ? 'is' : 'are'} at risk (listed first below)` : ''}.</p>\n`
    : ''
}<h2>Checked copies</h2>
<table><tr><th>copies</th><th>0</th><th>1</th><th>2</th><th>3 or more</th></tr>
<tr><td>items</td>${o.copies.assets.map((n, i) => `<td data-metric="copies${i}">${num(n)}</td>`).join('')}</tr>
<tr><td>size</td>${o.copies.bytes.map((n) => `<td>${esc(bytes(n))}</td>`).join('')}</tr></table>
<h2>By year</h2>
<p class="legend"><span style="background:#2e7d32"></span>protected<span style="background:#ef6c00"></span>at risk</p>
${yearChart(status)}
<h2>At risk${status.atRisk.length > shown.length ? ` (first ${num(shown.length)} of ${num(status.atRisk.length)})` : ''}</h2>
${status.atRisk.length ? `<table id="at-risk"><tr><th>item</th><th>taken</th><th>size</th><th>copies</th><th>off-site</th><th>why</th></tr>\n${riskRows}</table>` : '<p class="ok">Nothing is at risk.</p>'}
<h2>Destinations</h2>
<table><tr><th>sink</th><th>where</th><th>kind</th><th>verifiable</th><th>last run</th></tr>
${sinkRows}</table>
<script type="application/json" id="keepsake-status">${json}</script>
</body></html>
`;
}
