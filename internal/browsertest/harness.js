// Poolgate's browser-test harness (internal/browsertest): runs one scenario in headless Chromium
// through playwright-core, with a fresh profile, and keeps a screenshot, the page's HTML and its
// console when the scenario fails.
//
// Usage: node harness.js <scenario.js>. The scenario is a CommonJS module exporting
// `async function (t)`; t holds { page, context, env, step, expect, log }.
// Environment: BROWSERTEST_CHROMIUM (the browser), BROWSERTEST_ARTIFACTS (where failures are
// kept), BROWSERTEST_PROFILE (an empty directory for the profile), and the scenario's own
// variables (t.env).
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--no-first-run',
];

function fail(msg) {
  throw new Error(msg);
}

// expect is a small assertion helper: expect(cond, message).
function expect(cond, msg) {
  if (!cond) fail(msg || 'expectation failed');
}

async function main() {
  const scenario = require(path.resolve(process.argv[2]));
  const artifacts = process.env.BROWSERTEST_ARTIFACTS;
  const context = await chromium.launchPersistentContext(process.env.BROWSERTEST_PROFILE, {
    executablePath: process.env.BROWSERTEST_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  const consoleLines = [];
  const pageErrors = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  // An uncaught error in the page (a script that does not parse, ...) fails the running step at
  // once, rather than after the step's own waits time out.
  let pageFailed;
  const pageFailure = new Promise((_, reject) => { pageFailed = reject; });
  pageFailure.catch(() => {});
  page.on('pageerror', (e) => {
    pageErrors.push(String(e && e.stack ? e.stack : e));
    pageFailed(new Error(`the page threw: ${pageErrors.join('\n')}`));
  });
  let current = '(setup)';
  const t = {
    page, context, env: process.env, expect,
    log: (...a) => console.log('  ', ...a),
    step: async (name, fn) => {
      current = name;
      console.log(`step: ${name}`);
      const r = await Promise.race([fn(), pageFailure]);
      expect(pageErrors.length === 0, `the page threw: ${pageErrors.join('\n')}`);
      return r;
    },
  };
  try {
    await scenario(t);
    console.log('browsertest: ok');
  } catch (err) {
    console.log(`browsertest: failed in step "${current}": ${err && err.stack ? err.stack : err}`);
    if (artifacts) {
      fs.mkdirSync(artifacts, { recursive: true });
      const shot = path.join(artifacts, 'failure.png');
      try {
        await page.screenshot({ path: shot, fullPage: true });
        console.log(`browsertest: screenshot ${shot}`);
      } catch (e) {
        console.log(`browsertest: no screenshot: ${e}`);
      }
      try {
        fs.writeFileSync(path.join(artifacts, 'page.html'), await page.content());
      } catch (e) {
        console.log(`browsertest: no page HTML: ${e}`);
      }
      fs.writeFileSync(path.join(artifacts, 'console.log'),
        consoleLines.concat(pageErrors.map((e) => `[pageerror] ${e}`)).join('\n') + '\n');
      console.log(`browsertest: artifacts in ${artifacts}`);
    }
    process.exitCode = 1;
  } finally {
    await context.close();
  }
}

main().catch((err) => {
  console.log(`browsertest: harness error: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 2;
});
