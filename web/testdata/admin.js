// An administrator signs in at /admin, creates a channel on the fake upstream, an account and a
// price, sees a call made with a user's key in the logs and the statistics, creates a limit rule
// and a batch of redemption codes, edits the object settings (a check-in then refused as worded
// when one was made meanwhile), and visits every admin page (each checked with axe and kept as
// a screenshot).
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
    await dlg.getByLabel('Models', { exact: true }).fill(env.MODEL);
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
    await url.fill('');
  });
  await step('settings: contributed accounts join a picked channel; check-in turned on', async () => {
    await page.getByRole('button', { name: 'Add a provider' }).click();
    await page.getByLabel('Provider 1', { exact: true }).fill('openai');
    const pick = page.getByLabel('Channel of provider 1');
    await pick.selectOption({ label: (await pick.locator('option', { hasText: 'fake-openai' }).innerText()).trim() });
    await page.getByLabel('Check in enabled').check();
    await page.getByLabel('Check in min reward').fill('1000');
    await page.getByLabel('Check in max reward').fill('500');
    await page.getByRole('button', { name: 'Save' }).click();
    const alert = page.locator('[role=alert]');
    await alert.waitFor();
    expect(/check_in_min_reward/.test(await alert.innerText()), `a minimum above the maximum is refused in the server's words (${await alert.innerText()})`);
    await page.getByLabel('Check in max reward').fill('5000');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[role=status]', { hasText: 'Saved.' }).waitFor();
    const s = await (await page.request.get(`${env.BASE_URL}/api/settings`)).json();
    expect(s.contributed_account_channels && s.contributed_account_channels.openai > 0 && s.check_in_enabled && s.check_in_max_reward === 5000,
      `the settings were saved (${JSON.stringify([s.contributed_account_channels, s.check_in_enabled, s.check_in_max_reward])})`);
    await look(t, 'admin-settings');
  });
  await step('check-in on: a check-in made elsewhere meanwhile is refused in the server\'s words', async () => {
    await page.goto(`${env.BASE_URL}/app/wallet`);
    const button = page.getByRole('button', { name: 'Check in', exact: true });
    await button.waitFor();
    const other = await page.evaluate(() => fetch('/api/user/check-in', { method: 'POST' }).then((r) => r.status));
    expect(other === 200, `the check-in from another tab counts (${other})`);
    await button.click();
    const alert = page.locator('[role=alert]');
    await alert.waitFor();
    expect(/checked in today already/.test(await alert.innerText()), `the refusal is shown as worded (${await alert.innerText()})`);
    await page.getByRole('button', { name: 'Checked in today' }).waitFor();
    await page.goto(`${env.BASE_URL}/admin/limits`);
    await page.locator('main h1', { hasText: 'Limits' }).waitFor();
  });
  await step('a limit rule: the server\'s validation message, then the rule', async () => {
    await page.getByRole('button', { name: 'New limit rule' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Window', { exact: true }).fill('forever');
    await dlg.getByLabel('Most calls in the window').fill('60');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const alert = dlg.locator('[role=alert]');
    await alert.waitFor();
    expect(/window/i.test(await alert.innerText()), `the server's message names the window (${await alert.innerText()})`);
    await dlg.getByLabel('Window', { exact: true }).fill('3h');
    await dlg.getByLabel('Models', { exact: true }).fill('*mini*');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' }).catch(() => {});
    await page.getByRole('row', { name: /\*mini\*/ }).filter({ hasText: '3h' }).waitFor();
    await look(t, 'admin-limits');
  });
  await step('a batch of redemption codes: shown once, edited, filtered, exported, deleted', async () => {
    await go(t, 'Redemption codes', 'Redemption codes');
    await page.getByRole('button', { name: 'New batch' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Batch name').fill('launch');
    await dlg.getByLabel('How many codes').fill('3');
    await dlg.getByLabel('Quota units each redeem credits').fill('500000');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const box = page.locator('[data-testid=new-codes]');
    await box.waitFor();
    const codes = (await box.innerText()).trim().split(/\s+/);
    expect(codes.length === 3 && codes.every((c) => /^PGR-[A-Z0-9]{24}$/.test(c)), `three codes are shown (${codes.length})`);
    await shot(t, 'admin-codes-new');
    const [txt] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    expect(fs.readFileSync(await txt.path(), 'utf8').trim().split('\n').length === 3, 'the download has the codes');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await box.waitFor({ state: 'detached' });
    const html = await page.content();
    expect(!codes.some((c) => html.includes(c)), 'the codes are gone from the page once dismissed');
    const table = page.getByRole('region', { name: 'Codes' });
    await table.locator('tbody tr', { hasText: 'launch' }).nth(2).waitFor();
    await table.locator('tbody tr').first().getByRole('button', { name: 'Edit' }).click();
    const edit = page.locator('dialog[open]');
    await edit.getByLabel('Disabled (cannot be redeemed)').check();
    await edit.getByRole('button', { name: 'Save' }).click();
    await table.locator('tbody tr .badge', { hasText: 'disabled' }).waitFor();
    await page.getByLabel('Status').selectOption('disabled');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('p', { hasText: /^Matching codes: 1$/ }).waitFor();
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export batch as CSV' }).click()]);
    const rows = fs.readFileSync(await csv.path(), 'utf8');
    expect(codes.every((c) => rows.includes(c)), 'the CSV export has every code of the batch');
    page.once('dialog', (d) => d.accept());
    await table.locator('tbody tr').first().getByRole('button', { name: 'Delete' }).click();
    await table.locator('td', { hasText: 'No code matches these filters.' }).waitFor();
    await page.getByLabel('Status').selectOption('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('p', { hasText: /^Matching codes: 2$/ }).waitFor();
    await look(t, 'admin-codes');
  });
  await step('every other admin page', async () => {
    for (const [link, name] of [
      ['Users', 'admin-users'], ['Groups', 'admin-groups'], ['Multipliers', 'admin-multipliers'],
      ['Plans', 'admin-plans'], ['Orders and payments', 'admin-orders'],
      ['Status monitors', 'admin-monitors'], ['Remote sources', 'admin-remote'], ['Hook deliveries', 'admin-hooks'],
      ['Share links', 'admin-share-links'], ['Announcements', 'admin-announcements'],
    ]) {
      await page.locator('nav.sidenav a', { hasText: link }).first().click();
      await page.locator('main h1').first().waitFor();
      await look(t, name);
    }
  });
};
