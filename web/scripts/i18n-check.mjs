// Fails when a t("…") literal in src/ has no Chinese entry in src/lib/zh.ts, or when zh.ts has
// entries no code uses (run by `npm run build`, so `make web` and `make check` catch both).
// Words translated dynamically (statuses, tiers, roles) are listed under `// dynamic` in zh.ts.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../src/", import.meta.url).pathname;
const files = [];
(function walk(d) {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.tsx?$/.test(n) && n !== "zh.ts") files.push(p);
  }
})(root);

const used = new Set();
const lit = /\bt\(\s*"((?:[^"\\]|\\.)*)"/g;
for (const f of files) {
  for (const m of readFileSync(f, "utf8").matchAll(lit)) used.add(JSON.parse(`"${m[1]}"`));
}
const zhSrc = readFileSync(join(root, "lib/zh.ts"), "utf8");
const [fixed, dynamic = ""] = zhSrc.split("// dynamic");
const keys = (s) => new Set([...s.matchAll(/^\s*"((?:[^"\\]|\\.)*)":/gm)].map((m) => JSON.parse(`"${m[1]}"`)));
const zh = keys(fixed);
const dyn = keys(dynamic);
const missing = [...used].filter((k) => !zh.has(k) && !dyn.has(k));
const unused = [...zh].filter((k) => !used.has(k));
if (missing.length || unused.length) {
  if (missing.length) console.error(`i18n: no Chinese for ${missing.length} text(s):\n` + missing.map((k) => `  ${JSON.stringify(k)}`).join("\n"));
  if (unused.length) console.error(`i18n: zh.ts entries no code uses (move words translated dynamically below "// dynamic"):\n` + unused.map((k) => `  ${JSON.stringify(k)}`).join("\n"));
  process.exit(1);
}
console.log(`i18n: ${used.size} texts, ${dyn.size} dynamic words, all translated`);
