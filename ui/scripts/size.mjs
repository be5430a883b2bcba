#!/usr/bin/env node
// Prints the gzipped size of the JavaScript and CSS a first paint needs, from ui/dist:
// the entry and everything index.html preloads, then each portal's lazy chunk on top.
// Usage: node ui/scripts/size.mjs [--json] [--limit KB]   (exit 1 when over the limit)
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const limitIdx = args.indexOf('--limit');
const limitKB = limitIdx >= 0 ? Number(args[limitIdx + 1]) : 250;

if (!existsSync(join(dist, 'index.html'))) {
  console.error('ui/dist/index.html is missing: run npm run build:ui first.');
  process.exit(2);
}

const manifestPath = join(dist, '.vite', 'manifest.json');
const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : null;
const html = readFileSync(join(dist, 'index.html'), 'utf8');

const gz = (file) => {
  const buf = readFileSync(join(dist, file));
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
};

/** Files referenced by index.html: module scripts, modulepreloads and stylesheets. */
function htmlAssets() {
  const js = new Set();
  const css = new Set();
  for (const m of html.matchAll(/<script[^>]+src="\/?([^"]+\.js)"/g)) js.add(m[1]);
  for (const m of html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/?([^"]+\.js)"/g)) js.add(m[1]);
  for (const m of html.matchAll(/<link[^>]+href="\/?([^"]+\.js)"[^>]+rel="modulepreload"/g)) js.add(m[1]);
  for (const m of html.matchAll(/<link[^>]+rel="stylesheet"[^>]+href="\/?([^"]+\.css)"/g)) css.add(m[1]);
  return { js: [...js], css: [...css] };
}

/** A manifest chunk with its static imports, recursively (what loading it costs). */
function closure(key, seen = new Set()) {
  const chunk = manifest?.[key];
  if (!chunk || seen.has(chunk.file)) return seen;
  seen.add(chunk.file);
  for (const imp of chunk.imports ?? []) closure(imp, seen);
  for (const c of chunk.css ?? []) seen.add(c);
  return seen;
}

const sum = (files) =>
  files.reduce(
    (acc, f) => {
      const s = gz(f);
      return { raw: acc.raw + s.raw, gzip: acc.gzip + s.gzip };
    },
    { raw: 0, gzip: 0 },
  );

const initial = htmlAssets();
const initialJs = sum(initial.js);
const initialCss = sum(initial.css);
const kb = (n) => (n / 1024).toFixed(1);

const portals = {};
if (manifest) {
  const initialSet = new Set([...initial.js, ...initial.css]);
  for (const [key, chunk] of Object.entries(manifest)) {
    const m = key.match(/portals\/(\w+)\.tsx$/);
    if (!m || !chunk.isDynamicEntry) continue;
    const extra = [...closure(key)].filter((f) => !initialSet.has(f));
    const js = sum(extra.filter((f) => f.endsWith('.js')));
    const css = sum(extra.filter((f) => f.endsWith('.css')));
    portals[m[1]] = { extraJsGzip: js.gzip, extraCssGzip: css.gzip, totalJsGzip: initialJs.gzip + js.gzip };
  }
}

const report = {
  initialJs: { files: initial.js, raw: initialJs.raw, gzip: initialJs.gzip },
  initialCss: { files: initial.css, raw: initialCss.raw, gzip: initialCss.gzip },
  portals,
  limitKB,
};

if (asJson) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`Initial JavaScript (first paint): ${kb(initialJs.gzip)} KB gzipped (${kb(initialJs.raw)} KB raw) in ${initial.js.length} file(s)`);
  console.log(`Initial CSS: ${kb(initialCss.gzip)} KB gzipped (${kb(initialCss.raw)} KB raw)`);
  for (const [name, p] of Object.entries(portals)) {
    console.log(`  ${name}: +${kb(p.extraJsGzip)} KB JS gzipped on first visit -> ${kb(p.totalJsGzip)} KB JS in total`);
  }
  console.log(`Budget: ${limitKB} KB gzipped for the initial JavaScript plus the largest portal`);
}

const worst = Math.max(initialJs.gzip, ...Object.values(portals).map((p) => p.totalJsGzip));
if (worst / 1024 > limitKB) {
  console.error(`Over budget: ${kb(worst)} KB > ${limitKB} KB`);
  process.exit(1);
}
