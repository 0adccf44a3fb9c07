// Swagger UI at /docs, as an administrator uses it: the page renders, each of the contracts
// can be chosen in the top bar and shows all its operations, Authorize takes an admin token, and
// "Try it out" on GET /api/settings answers 200 from the page itself.
// Env: BASE_URL, ADMIN_TOKEN, CONTRACTS (JSON: [{name, title, operations}]).
'use strict';

module.exports = async function (t) {
  const { page, env, step, expect } = t;
  const contracts = JSON.parse(env.CONTRACTS);
  const title = page.locator('.swagger-ui .information-container .title').first();
  const waitFor = async (c) => {
    await title.filter({ hasText: c.title }).waitFor({ timeout: 30000 });
    await page.waitForFunction((n) => document.querySelectorAll('.swagger-ui .opblock').length === n,
      c.operations, { timeout: 30000 });
  };

  await step('open /docs', async () => {
    const res = await page.goto(env.BASE_URL + '/docs');
    expect(res && res.ok(), `GET /docs answered ${res && res.status()}`);
    await waitFor(contracts[0]); // the first contract is the one shown first
  });

  for (const c of contracts) {
    await step(`select the ${c.name} contract`, async () => {
      await page.selectOption('.topbar select', { label: c.name });
      await waitFor(c);
      t.log(`${c.name}: ${c.operations} operations rendered`);
    });
  }

  await step('authorize with an admin token', async () => {
    await page.selectOption('.topbar select', { label: 'admin' });
    await waitFor(contracts.find((c) => c.name === 'admin'));
    await page.click('.scheme-container .btn.authorize');
    const scheme = page.locator('.modal-ux .auth-container').filter({ hasText: 'bearerAuth' });
    await scheme.locator('input').fill(env.ADMIN_TOKEN);
    await scheme.locator('button.authorize').click();
    await scheme.locator('button', { hasText: 'Logout' }).waitFor(); // the token is taken
    await scheme.locator('button.btn-done').click();
  });

  await step('try GET /api/settings', async () => {
    const op = page.locator('#operations-settings-settingsGet');
    await op.locator('.opblock-summary').first().click();
    await op.locator('button.try-out__btn').click();
    await op.locator('button.execute').click();
    const status = op.locator('.live-responses-table tr.response .response-col_status').first();
    await status.waitFor({ timeout: 30000 });
    const text = (await status.innerText()).trim();
    expect(text.startsWith('200'), `the call answered ${text}`);
    const body = await op.locator('.live-responses-table tr.response .response-col_description pre').first().innerText();
    expect(body.includes('site_name'), `the answer is the settings: ${body.slice(0, 200)}`);
  });
};
