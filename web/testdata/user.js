// A user signs in at /app, creates an API key (shown once), chats in the playground with a
// streamed answer, reads their usage, redeems a code and checks in, sees the limit's countdown
// on the dashboard, switches to Chinese; every page is checked and kept.
// Env: BASE_URL, USERNAME, PASSWORD, MODEL, ANSWER (the scripted streamed answer), CODE (a
// redemption code worth CODE_QUOTA units).

module.exports = async function (t) {
  const { page, env, step, expect } = t;
  let secret;
  await step('sign in with the password', async () => {
    await page.goto(`${env.BASE_URL}/app`);
    await page.locator('h2', { hasText: 'Sign in' }).waitFor();
    await look(t, 'app-signin');
    await page.getByLabel('Username').fill(env.USERNAME);
    await page.getByLabel('Password').fill('wrong-password');
    await page.locator('form button[type=submit]').click();
    const alert = page.locator('[role=alert]');
    await alert.waitFor();
    expect((await alert.innerText()).length > 0, 'a refused sign-in shows the server\'s message');
    await page.getByLabel('Password').fill(env.PASSWORD);
    await page.locator('form button[type=submit]').click();
    await page.locator('h1', { hasText: `Welcome, ${env.USERNAME}` }).waitFor();
    await look(t, 'app-dashboard');
  });
  await step('create a key: shown once', async () => {
    await go(t, 'API keys', 'API keys');
    await page.getByRole('button', { name: 'Create a key' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Name').fill('laptop');
    await dlg.getByLabel('Description').fill('for the playground');
    await look(t, 'app-keys-create');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const box = page.locator('[data-testid=secret]');
    await box.waitFor();
    secret = (await box.innerText()).trim();
    expect(/^sk-/.test(secret), `the new key is shown (${secret.slice(0, 5)}…)`);
    await look(t, 'app-keys-secret');
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await box.waitFor({ state: 'detached' });
    await page.locator('td', { hasText: 'laptop' }).first().waitFor();
    expect(!(await page.content()).includes(secret), 'the secret is gone from the page once dismissed');
    await look(t, 'app-keys');
  });
  await step('chat in the playground: the answer streams in', async () => {
    await go(t, 'Playground', 'Playground');
    await page.getByLabel('Call with').selectOption({ label: 'The key just created: laptop' });
    const model = page.getByLabel('Model');
    await page.locator(`#${await model.getAttribute('id')} option[value="${env.MODEL}"]`).waitFor({ state: 'attached' });
    await model.selectOption(env.MODEL);
    await page.getByLabel('Message').fill('Tell me about pools');
    await page.getByRole('button', { name: 'Send' }).click();
    const words = env.ANSWER.split(' ');
    const streaming = page.locator('[data-testid=streaming]');
    await streaming.filter({ hasText: words[0] }).waitFor();
    const partial = await streaming.innerText().catch(() => '');
    expect(partial.length < env.ANSWER.length, `the answer arrives in pieces (first seen: ${JSON.stringify(partial)})`);
    await page.locator('.msg.assistant:not(.streaming)', { hasText: env.ANSWER }).waitFor();
    expect(!(await page.content()).includes(secret), 'the key is not rendered in the playground');
    await look(t, 'app-playground');
  });
  await step('see the call in the usage logs and charts', async () => {
    await go(t, 'Usage', 'Usage');
    for (let i = 0; i < 50; i++) {
      if (await page.locator('td', { hasText: env.MODEL }).count()) break;
      await Promise.all([page.waitForResponse((r) => r.url().includes('/api/user/logs')), page.getByRole('button', { name: 'Apply' }).click()]);
    }
    await page.locator('td', { hasText: env.MODEL }).first().waitFor();
    await look(t, 'app-usage');
  });
  await step('redeem a code: a wrong one refused in the server\'s words, the right one credited', async () => {
    await go(t, 'Wallet', 'Wallet');
    const code = page.getByLabel('Redemption code');
    await code.fill('PGR-NOSUCHCODE');
    await page.getByRole('button', { name: 'Redeem', exact: true }).click();
    const alert = page.locator('[role=alert]');
    await alert.waitFor();
    const refusal = await alert.innerText();
    expect(/redemption code/i.test(refusal), `a wrong code shows the server's message (${refusal})`);
    await code.fill(env.CODE);
    await page.getByRole('button', { name: 'Redeem', exact: true }).click();
    const notice = page.locator('[role=status]', { hasText: 'Redeemed' });
    await notice.waitFor();
    const m = /Redeemed ([\d,]+) quota units; your balance is now ([\d,]+)/.exec(await notice.innerText());
    expect(m && m[1].replace(/,/g, '') === env.CODE_QUOTA, `the credit is shown (${m && m[1]})`);
    await page.locator('[data-testid=wallet-balance]', { hasText: m[2] }).waitFor();
    expect((await code.inputValue()) === '', 'the code field is cleared');
  });
  await step('check in: the reward, the new balance and today\'s record', async () => {
    expect((await page.locator('[data-testid=check-in-state]').innerText()) === 'not checked in', 'not checked in yet');
    await page.getByRole('button', { name: 'Check in', exact: true }).click();
    const notice = page.locator('[role=status]', { hasText: 'Checked in:' });
    await notice.waitFor();
    await page.getByRole('button', { name: 'Checked in today' }).waitFor();
    expect(await page.getByRole('button', { name: 'Checked in today' }).isDisabled(), 'no second check-in from the page');
    await page.locator('[data-testid=check-in-state]', { hasText: '+' }).waitFor();
    await page.getByRole('region', { name: 'Past check-ins' }).locator('tbody tr td', { hasText: /^\d{4}-\d\d-\d\d$/ }).first().waitFor();
    await look(t, 'app-wallet');
  });
  await step('the dashboard counts down until the limit frees a slot', async () => {
    await go(t, 'Dashboard', 'Welcome');
    const row = page.getByRole('region', { name: 'Limits' }).locator('tbody tr').first();
    await row.locator('.countdown', { hasText: /clears in \d/ }).waitFor();
    const countdown = await row.locator('.countdown').elementHandle();
    const first = await countdown.innerText();
    await page.waitForFunction(([c, f]) => c.textContent !== f, [countdown, first]);
    expect(/[1-9]\d* \/ 100/.test(await row.innerText()), `the call counted against the rule (${await row.innerText()})`);
    await look(t, 'app-dashboard-limits');
  });
  await step('the other pages', async () => {
    for (const [link, name] of [['Contributed accounts', 'app-accounts'], ['Security', 'app-security']]) {
      await go(t, link, link);
      await look(t, name);
    }
  });
  await step('switch to Chinese, then sign out', async () => {
    await go(t, 'Dashboard', 'Welcome');
    await page.locator('#pref-lang').selectOption('zh-CN');
    await page.locator('h1', { hasText: `欢迎,${env.USERNAME}` }).waitFor();
    expect((await page.getAttribute('html', 'lang')) === 'zh-CN', 'the page language follows');
    await look(t, 'app-dashboard-zh');
    await page.reload();
    await page.locator('h1', { hasText: `欢迎,${env.USERNAME}` }).waitFor();
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.locator('h2', { hasText: '登录' }).waitFor();
  });
};
