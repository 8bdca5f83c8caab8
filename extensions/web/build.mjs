// build.mjs copies the browser editor into hub/webui/dist, which the hub
// embeds: Monaco's prebuilt AMD files (node_modules/monaco-editor/min/vs)
// and our own src/*. No bundler, no dependencies: `node build.mjs` after
// `npm ci`. dist/ is generated; only dist/.keep is committed.
//
// Monaco goes to dist/monaco-<version>/vs and index.html's __MONACO__
// becomes monaco-<version>: a versioned path browsers may cache for good,
// because a new Monaco comes with a new path.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "..", "hub", "webui", "dist");
const vs = join(here, "node_modules", "monaco-editor", "min", "vs");

if (!existsSync(vs)) {
  console.error(`build.mjs: ${vs} is missing: run npm ci --prefix extensions/web first`);
  process.exit(1);
}
const version = JSON.parse(readFileSync(join(here, "node_modules", "monaco-editor", "package.json"), "utf8")).version;
if (!/^[0-9A-Za-z.+-]+$/.test(version)) {
  console.error(`build.mjs: unexpected monaco-editor version ${version}`);
  process.exit(1);
}
const monaco = `monaco-${version}`;
mkdirSync(dist, { recursive: true });
for (const name of readdirSync(dist)) {
  if (name !== ".keep") rmSync(join(dist, name), { recursive: true, force: true });
}
cpSync(vs, join(dist, monaco, "vs"), { recursive: true });
for (const name of readdirSync(join(here, "src"))) {
  cpSync(join(here, "src", name), join(dist, name), { recursive: true });
}
const index = join(dist, "index.html");
writeFileSync(index, readFileSync(index, "utf8").replaceAll("__MONACO__", monaco));
console.log(`build.mjs: wrote ${dist}`);
