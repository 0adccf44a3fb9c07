// A user contributes an upstream account at /app/accounts: a credential the upstream refuses
// shows the server's words; an accepted one is listed by its tail only (never rendered), shared,
// active; it is made dedicated, the routing order is saved, and the account removed.
// Env: BASE_URL, USERNAME, PASSWORD, GOOD_KEY, BAD_KEY.

module.exports = async function (t) {
  const { page, env, step, expect } = t;
  await step('sign in and open the page', async () => {
    await page.goto(`${env.BASE_URL}/app/accounts`);
    await page.getByLabel('Username').fill(env.USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(env.PASSWORD);
    await page.locator('form button[type=submit]').click();
    await page.locator('main h1', { hasText: 'Contributed accounts' }).waitFor();
  });
  await step('a refused credential shows the upstream\'s complaint', async () => {
    await page.getByRole('button', { name: 'New account' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('API key of the account').fill(env.BAD_KEY);
    await dlg.getByLabel('Nickname').fill('spare');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const alert = dlg.locator('[role=alert]');
    await alert.waitFor();
    const text = await alert.innerText();
    expect(/refused|reject/i.test(text), `the refusal is shown as the server words it: ${text}`);
    expect(!text.includes(env.BAD_KEY), 'the refused key is not echoed');
    await look(t, 'app-accounts-refused');
  });
  await step('an accepted credential is listed by its tail only', async () => {
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('API key of the account').fill(env.GOOD_KEY);
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' }).catch(() => {});
    const row = page.getByRole('row', { name: /spare/ });
    await row.waitFor();
    expect(!(await page.content()).includes(env.GOOD_KEY), 'the credential is never rendered');
    await row.locator('td', { hasText: 'shared' }).waitFor();
    await look(t, 'app-accounts');
  });
  await step('make it dedicated, choose the order, remove it', async () => {
    await page.getByRole('row', { name: /spare/ }).getByRole('button', { name: 'Edit' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Shared with everyone (else dedicated to me)').uncheck();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('row', { name: /spare/ }).locator('td', { hasText: 'dedicated' }).waitFor();
    await page.getByLabel('Order').selectOption('shared_first');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[role=status]', { hasText: 'Saved.' }).waitFor();
    page.once('dialog', (d) => d.accept());
    await page.getByRole('row', { name: /spare/ }).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('row', { name: /spare/ }).waitFor({ state: 'detached' });
  });
};
