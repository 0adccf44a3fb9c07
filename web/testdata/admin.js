// An administrator signs in at /admin, creates a channel on the fake upstream, an account and a
// price, sees a call made with a user's key in the logs and the statistics, and visits every
// admin page (each checked with axe and kept as a screenshot).
// Env: BASE_URL, ADMIN_USER, ADMIN_PASSWORD, UPSTREAM_URL, MODEL, CREDENTIAL, USER_KEY.

module.exports = async function (t) {
  const { page, env, step, expect } = t;
  await step('sign in as the administrator', async () => {
    await page.goto(`${env.BASE_URL}/admin`);
    await page.locator('h2', { hasText: 'Administrator sign-in' }).waitFor();
    await look(t, 'admin-signin');
    await page.getByLabel('Username').fill(env.ADMIN_USER);
    await page.getByLabel('Password').fill(env.ADMIN_PASSWORD);
    await page.locator('form button[type=submit]').click();
    await page.locator('main h1', { hasText: 'Channels and accounts' }).waitFor();
  });
  await step('create a channel', async () => {
    await page.getByRole('button', { name: 'New channel' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Name', { exact: true }).fill('fake-openai');
    await dlg.getByLabel('Base URL').fill(env.UPSTREAM_URL);
    await dlg.getByLabel('Models').fill(env.MODEL);
    await look(t, 'admin-channel-create');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' }).catch(() => {});
    await page.locator('td', { hasText: 'fake-openai' }).first().waitFor();
  });
  await step('add an account to it', async () => {
    await page.getByRole('row', { name: /fake-openai/ }).getByRole('button', { name: 'Accounts and models' }).click();
    await page.locator('h2', { hasText: 'Accounts of fake-openai' }).waitFor();
    await page.getByRole('button', { name: 'New account' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Name', { exact: true }).fill('acct-1');
    await dlg.getByLabel('Credential', { exact: true }).fill(env.CREDENTIAL);
    await dlg.getByRole('button', { name: 'Create' }).click();
    await page.locator('td', { hasText: 'acct-1' }).first().waitFor();
    expect(!(await page.content()).includes(env.CREDENTIAL), 'the credential is never rendered');
    await look(t, 'admin-channels');
  });
  await step('price the model', async () => {
    await go(t, 'Models and prices', 'Models and prices');
    await page.getByRole('button', { name: 'New price' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Model', { exact: true }).fill(env.MODEL);
    await dlg.getByLabel('Input price (quota units per 1M tokens)').fill('1000');
    await dlg.getByLabel('Output price (quota units per 1M tokens)').fill('2000');
    await dlg.getByLabel('Long prompts: above this many tokens').fill('200000');
    await dlg.getByLabel('Long prompts: input price').fill('2000');
    await dlg.getByLabel('Long prompts: output price').fill('3000');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await page.locator('td', { hasText: env.MODEL }).first().waitFor();
    await page.locator('td', { hasText: 'above 200,000 tokens: 2,000 / 3,000' }).waitFor();
    await look(t, 'admin-models');
  });
  await step('a user calls the model; the call shows in the logs', async () => {
    const res = await page.request.post(`${env.BASE_URL}/v1/chat/completions`, {
      headers: { Authorization: `Bearer ${env.USER_KEY}` },
      data: { model: env.MODEL, messages: [{ role: 'user', content: 'hello from the admin test' }] },
    });
    expect(res.ok(), `the call through the new channel answers (${res.status()} ${await res.text()})`);
    await go(t, 'Logs', 'Logs');
    for (let i = 0; i < 50 && !(await page.locator('td', { hasText: env.MODEL }).count()); i++) {
      await Promise.all([page.waitForResponse((r) => r.url().includes('/api/logs')), page.getByRole('button', { name: 'Apply' }).click()]);
    }
    await page.locator('td', { hasText: env.MODEL }).first().waitFor();
    await look(t, 'admin-logs');
  });
  await step('and in the statistics', async () => {
    await go(t, 'Statistics', 'Statistics');
    await page.locator('[data-testid=stat-calls]').filter({ hasNotText: /^0$/ }).waitFor();
    await page.getByLabel('Group by').selectOption('model');
    await page.locator('.chart-label', { hasText: env.MODEL }).first().waitFor();
    await look(t, 'admin-stats');
  });
  await step('a server refusal is shown in its words', async () => {
    await go(t, 'Settings', 'Settings');
    const url = page.getByLabel('Oauth url');
    await url.fill('ftp://nowhere');
    await page.getByRole('button', { name: 'Save' }).click();
    const alert = page.locator('[role=alert]');
    await alert.waitFor();
    expect((await alert.innerText()).trim().length > 0, 'the validation message is shown');
    await look(t, 'admin-settings');
  });
  await step('every other admin page', async () => {
    for (const [link, name] of [
      ['Users', 'admin-users'], ['Groups', 'admin-groups'], ['Codes, plans and orders', 'admin-money'],
      ['Status monitors', 'admin-monitors'], ['Remote sources', 'admin-remote'], ['Hook deliveries', 'admin-hooks'],
      ['Share links', 'admin-share-links'], ['Announcements', 'admin-announcements'],
    ]) {
      await page.locator('nav.sidenav a', { hasText: link }).first().click();
      await page.locator('main h1').first().waitFor();
      await look(t, name);
    }
  });
};
