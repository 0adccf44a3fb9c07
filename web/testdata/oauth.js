// OAuth-based accounts added by signing in at the provider (a provider started by the Go test
// that consents at once), and an administrator ending a user's sessions:
// - a user at /app/accounts picks the provider and signs in there; the browser comes back to
//   /app/accounts?oauth=added and the account is listed (its tokens never rendered);
// - an administrator at /admin/channels adds an account to a channel with a provider that
//   shows a code (a new tab): a code with a wrong state is refused in the server's words, the
//   right one adds the account; a provider that redirects back lands on the channel, opened;
// - the administrator opens the user's sessions in /admin/users, ends one, then all.
// Env: BASE_URL, USERNAME, PASSWORD, ADMIN_USER, ADMIN_PASSWORD, CHANNEL, PHONE_AGENT.

module.exports = async function (t) {
  const { page, context, env, step, expect } = t;
  const noTokens = async () => {
    const html = await page.content();
    expect(!/\b(at|rt)-\d+\b/.test(html), 'no OAuth token is rendered');
  };
  await step('a user signs in at the provider and the account is listed', async () => {
    await page.goto(`${env.BASE_URL}/app/accounts`);
    await page.getByLabel('Username').fill(env.USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(env.PASSWORD);
    await page.locator('form button[type=submit]').click();
    await page.locator('main h1', { hasText: 'Contributed accounts' }).waitFor();
    await look(t, 'app-accounts-oauth-start');
    await page.getByLabel('Provider').selectOption('openai');
    const card = page.locator('.card', { has: page.getByRole('button', { name: 'Sign in at the provider' }) });
    await card.getByLabel('Nickname').fill('signed-in-account');
    await card.getByRole('button', { name: 'Sign in at the provider' }).click();
    await page.waitForURL(/\/app\/accounts\?.*oauth=added/);
    await page.locator('[role=status]', { hasText: 'The account was added.' }).first().waitFor();
    const row = page.getByRole('row', { name: /signed-in-account/ });
    await row.waitFor();
    await row.locator('td', { hasText: 'shared' }).waitFor();
    await noTokens();
    await look(t, 'app-accounts-oauth-added');
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.getByLabel('Username').waitFor(); // signed out before the next page loads
  });
  await step('the administrator opens the channel\'s accounts', async () => {
    await page.goto(`${env.BASE_URL}/admin/channels`);
    await page.getByLabel('Username').fill(env.ADMIN_USER);
    await page.getByLabel('Password').fill(env.ADMIN_PASSWORD);
    await page.locator('form button[type=submit]').click();
    await page.locator('main h1', { hasText: 'Channels and accounts' }).waitFor();
    await page.getByRole('row', { name: new RegExp(env.CHANNEL) }).getByRole('button', { name: 'Accounts and models' }).click();
    await page.locator('h2', { hasText: 'Add an account by signing in at the provider' }).waitFor();
  });
  const card = page.locator('.card', { has: page.locator('h2', { hasText: 'Add an account by signing in at the provider' }) });
  await step('a provider that shows a code: a wrong state refused, the right code adds the account', async () => {
    await card.getByLabel('Provider').selectOption('anthropic');
    await card.getByLabel('Nickname').fill('team-pasted');
    const opened = context.waitForEvent('page');
    await card.getByRole('button', { name: 'Sign in at the provider' }).click();
    const tab = await opened;
    await tab.waitForURL(/\/code\/callback/);
    const pasted = (await tab.locator('#code').innerText()).trim();
    await tab.close();
    expect(pasted.includes('#'), `the provider shows code#state: ${pasted}`);
    const field = card.getByLabel('Code from the provider');
    await field.fill(pasted.split('#')[0] + '#not-the-state');
    await card.getByRole('button', { name: 'Add the account' }).click();
    const alert = card.locator('[role=alert]');
    await alert.waitFor();
    const said = await alert.innerText();
    expect(/start again/.test(said), `the refusal as the server words it: ${said}`);
    await look(t, 'admin-channels-oauth-paste');
    await field.fill(pasted);
    await card.getByRole('button', { name: 'Add the account' }).click();
    await card.locator('[role=status]', { hasText: 'The account was added.' }).waitFor();
    await page.getByRole('row', { name: /team-pasted/ }).waitFor();
    await noTokens();
  });
  await step('a provider that redirects back lands on the channel, opened', async () => {
    await card.getByLabel('Provider').selectOption('openai');
    await card.getByLabel('Nickname').fill('team-redirected');
    await card.getByRole('button', { name: 'Sign in at the provider' }).click();
    await page.waitForURL(/\/admin\/channels\?.*oauth=added/);
    await page.locator('[role=status]', { hasText: 'The account was added.' }).first().waitFor();
    await page.getByRole('row', { name: /team-redirected/ }).waitFor();
    await noTokens();
    await look(t, 'admin-channels-oauth-added');
  });
  await step('the administrator ends the user\'s sessions', async () => {
    await go(t, 'Users', 'Users');
    await page.getByRole('row', { name: new RegExp(env.USERNAME) }).getByRole('button', { name: 'Sessions' }).click();
    const dlg = page.locator('dialog[open]');
    const phone = dlg.getByRole('row', { name: new RegExp(env.PHONE_AGENT.replace(/[./]/g, '\\$&')) });
    await phone.waitFor();
    expect(!(await dlg.innerHTML()).includes(env.PHONE_TOKEN), 'no session secret is rendered');
    await look(t, 'admin-user-sessions');
    await phone.getByRole('button', { name: 'End' }).click();
    await dlg.locator('[role=status]', { hasText: 'The session has ended.' }).waitFor();
    await phone.waitFor({ state: 'detached' });
    page.once('dialog', (d) => d.accept());
    await dlg.getByRole('button', { name: 'End all sessions' }).click();
    await dlg.locator('[role=status]', { hasText: 'Every session has ended.' }).waitFor();
    await dlg.getByText('No live session.').waitFor();
  });
};
