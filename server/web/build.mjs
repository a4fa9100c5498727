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
import { feature } from 'topojson-client';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, 'src');
const dist = path.join(here, 'dist');
const tmp = path.join(here, 'dist.tmp');

// The map's outlines, from Natural Earth (npm world-atlas), cut down at build
// time to what the map of Vietnam draws and bundled with the app (no tile
// server: the app works offline on a forum's LAN). Vietnam at 1:10m; its
// neighbours at 1:50m; the Hoàng Sa (Paracel) and Trường Sa (Spratly)
// archipelagos, which Natural Earth gives to another country or to none, are
// taken out of those and drawn as Vietnam's, as Vietnamese maps show them.
const HOANG_SA_BOX = [110.9, 15.4, 113.0, 17.3]; // lon/lat: west, south, east, north
const NEIGHBOURS = new Set(['156', '418', '116', '764', '104', '344', '446', '608', '458', '096']);

function countries(res) {
	const file = path.join(here, 'node_modules', 'world-atlas', `countries-${res}.json`);
	const topo = JSON.parse(fs.readFileSync(file, 'utf8'));
	return feature(topo, topo.objects.countries).features;
}
const polygons = (g) => (g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : []);
const inBox = (poly, [w, s, e, n]) => poly[0].every(([x, y]) => x >= w && x <= e && y >= s && y <= n);
const round = (polys, digits) => polys.map((poly) => poly.map((ring) => ring.map(([x, y]) => [+x.toFixed(digits), +y.toFixed(digits)])));
const multi = (kind, name, polys, digits) => ({
	type: 'Feature',
	properties: { kind, name },
	geometry: { type: 'MultiPolygon', coordinates: round(polys, digits) },
});

function mapGeometry() {
	const fine = countries('10m');
	const coarse = countries('50m');
	const vietnam = fine.find((f) => f.id === '704');
	const spratly = fine.find((f) => f.properties.name === 'Spratly Is.');
	const china = fine.find((f) => f.id === '156');
	if (!vietnam || !spratly || !china) throw new Error('build: Natural Earth data lacks Vietnam, the Spratly Is. or China');
	const hoangSa = polygons(china.geometry).filter((p) => inBox(p, HOANG_SA_BOX));
	if (hoangSa.length === 0) throw new Error('build: no Hoàng Sa islands found in the Natural Earth data');
	const features = [
		multi('vietnam', 'Việt Nam', polygons(vietnam.geometry), 3),
		multi('hoang_sa', 'Quần đảo Hoàng Sa', hoangSa, 3),
		multi('truong_sa', 'Quần đảo Trường Sa', polygons(spratly.geometry), 3),
	];
	for (const f of coarse) {
		if (!NEIGHBOURS.has(f.id)) continue;
		// Keep out any island of the two archipelagos, whoever Natural Earth gives it to.
		const polys = polygons(f.geometry).filter((p) => !inBox(p, HOANG_SA_BOX) && !inBox(p, [111.0, 6.0, 117.0, 12.0]));
		if (polys.length) features.push(multi('neighbour', f.properties.name, polys, 2));
	}
	return { type: 'FeatureCollection', features };
}
const geoPlugin = {
	name: 'map-geometry',
	setup(b) {
		b.onResolve({ filter: /^virtual:map-geometry$/ }, (a) => ({ path: a.path, namespace: 'map-geometry' }));
		b.onLoad({ filter: /.*/, namespace: 'map-geometry' }, () => ({ contents: JSON.stringify(mapGeometry()), loader: 'json' }));
	},
};

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
	chunkNames: '[name]-[hash]',
	splitting: true,
	assetNames: '[name]-[hash]',
	loader: { '.png': 'file', '.svg': 'file' },
	metafile: true,
	plugins: [geoPlugin],
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
