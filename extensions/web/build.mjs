// build.mjs copies the browser editor into hub/webui/dist, which the hub
// embeds: Monaco's prebuilt AMD files (node_modules/monaco-editor/min/vs)
// and our own src/*. No bundler, no dependencies: `node build.mjs` after
// `npm ci`. dist/ is generated; only dist/.keep is committed.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "..", "hub", "webui", "dist");
const vs = join(here, "node_modules", "monaco-editor", "min", "vs");

if (!existsSync(vs)) {
  console.error(`build.mjs: ${vs} is missing: run npm ci --prefix extensions/web first`);
  process.exit(1);
}
mkdirSync(dist, { recursive: true });
for (const name of readdirSync(dist)) {
  if (name !== ".keep") rmSync(join(dist, name), { recursive: true, force: true });
}
cpSync(vs, join(dist, "vs"), { recursive: true });
for (const name of readdirSync(join(here, "src"))) {
  cpSync(join(here, "src", name), join(dist, name), { recursive: true });
}
console.log(`build.mjs: wrote ${dist}`);
