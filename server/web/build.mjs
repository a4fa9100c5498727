// build.mjs — builds the web app into dist/: one JavaScript bundle and one
// stylesheet under dist/assets/ with a content hash in their names (so they
// can be cached for ever), index.html referencing them, and a .gz sibling of
// every text file for clients that accept gzip. No inline script or style:
// craftmatchd serves the app with Content-Security-Policy default-src 'self'.
//
//   node build.mjs            (scripts/build runs it)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, 'src');
const dist = path.join(here, 'dist');
const tmp = path.join(here, 'dist.tmp');

fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(path.join(tmp, 'assets'), { recursive: true });

const result = await esbuild.build({
	entryPoints: { app: path.join(src, 'main.js'), style: path.join(src, 'app.css') },
	bundle: true,
	minify: true,
	format: 'esm',
	target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
	outdir: path.join(tmp, 'assets'),
	entryNames: '[name]-[hash]',
	assetNames: '[name]-[hash]',
	loader: { '.png': 'file', '.svg': 'file' },
	metafile: true,
	legalComments: 'linked',
	logLevel: 'warning',
});

// The entry points' output names, read from the metafile.
const outputs = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
	if (!info.entryPoint) continue;
	const entry = path.basename(info.entryPoint).replace(/\.(js|css)$/, '');
	outputs[entry === 'main' ? 'js' : 'css'] = '/assets/' + path.basename(file);
}
if (!outputs.js || !outputs.css) throw new Error('build: the bundle or the stylesheet is missing');

const html = fs.readFileSync(path.join(src, 'index.html'), 'utf8')
	.replace('%APP_JS%', outputs.js)
	.replace('%APP_CSS%', outputs.css);
fs.writeFileSync(path.join(tmp, 'index.html'), html);
fs.copyFileSync(path.join(src, 'favicon.svg'), path.join(tmp, 'favicon.svg'));

// Precompressed siblings: craftmatchd sends FILE.gz when the client accepts gzip.
const textual = /\.(html|js|css|svg|json|txt|map)$/;
function gzipTree(dir) {
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, entry.name);
		if (entry.isDirectory()) gzipTree(p);
		else if (textual.test(entry.name)) {
			fs.writeFileSync(p + '.gz', zlib.gzipSync(fs.readFileSync(p), { level: 9 }));
		}
	}
}
gzipTree(tmp);

// Swap in the new build whole, so a running server never sees half of one.
fs.rmSync(dist, { recursive: true, force: true });
fs.renameSync(tmp, dist);
console.log(`web app built into ${path.relative(process.cwd(), dist) || dist}: ${outputs.js}, ${outputs.css}`);
