// A user signs in at /app, creates an API key (shown once), chats in the playground with a
// streamed answer, reads their usage, switches to Chinese; every page is checked and kept.
// Env: BASE_URL, USERNAME, PASSWORD, MODEL, ANSWER (the scripted streamed answer).

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
  await step('the pages waiting for their API say so', async () => {
    for (const [link, name] of [['Wallet', 'app-wallet'], ['Contributed accounts', 'app-accounts'], ['Security', 'app-security']]) {
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
