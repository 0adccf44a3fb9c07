// Helpers shared by the console's browser scenarios (prepended to each scenario by
// console_test.go): a screenshot of each page kept as an artifact, an accessibility check with
// axe-core (no serious or critical violation), and a check that a page fits a 375 px phone.
'use strict';
const fs = require('fs');
const path = require('path');
const { AxeBuilder } = require('@axe-core/playwright');

const SHOTS = path.join(process.env.BROWSERTEST_ARTIFACTS, 'pages');

async function shot(t, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await t.page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function axe(t, name) {
  const r = await new AxeBuilder({ page: t.page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  t.expect(bad.length === 0, `${name}: accessibility violations:\n` +
    bad.map((v) => `  ${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`).join('\n'));
  return r.violations.length;
}

// look checks the page as it is: axe in light and dark, a screenshot of each, and at 375 px a
// screenshot and no sideways overflow of the page itself (wide tables scroll inside their box).
async function look(t, name) {
  const { page } = t;
  await page.waitForFunction(() => !document.querySelector('[role=status] .spinner, main .spinner'), null, { timeout: 15000 }).catch(() => {});
  await axe(t, name);
  await shot(t, name);
  await page.emulateMedia({ colorScheme: 'dark' });
  await axe(t, `${name} (dark)`);
  await shot(t, `${name}-dark`);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 375, height: 740 });
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  t.expect(w <= 376, `${name} is wider than a 375 px screen: ${w} px`);
  await shot(t, `${name}-375`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

// go opens a console page by clicking its navigation link (no reload) and waits for its heading.
async function go(t, link, heading) {
  await t.page.locator('nav.sidenav a', { hasText: link }).first().click();
  await t.page.locator('main h1', { hasText: heading }).first().waitFor();
}
