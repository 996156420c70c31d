// Bundles the dashboard into dist/: app.js (ECharts included, no network at runtime), index.html, style.css.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const outdir = new URL('./dist/', import.meta.url).pathname;
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  target: ['es2020'],
  outfile: `${outdir}app.js`,
  legalComments: 'linked',
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) copyFileSync(`src/${f}`, `${outdir}${f}`);
console.log(`built ${outdir}`);
