// /logintoken lands in the web console: a sign-in link opens /app signed in, which shows who is
// signed in and the preferred account, and signing out there ends the session.
// Env: BASE_URL, ACCESS_TOKEN, USERNAME.
'use strict';

module.exports = async function (t) {
  const { page, env, step, expect } = t;
  await step('open the sign-in link', async () => {
    const res = await page.goto(`${env.BASE_URL}/logintoken?access_token=${encodeURIComponent(env.ACCESS_TOKEN)}&account=car-1`);
    expect(res && res.ok(), `the link ends on a page that answers (${res && res.status()})`);
    const url = new URL(page.url());
    expect(url.pathname === '/app' && url.searchParams.get('account') === 'car-1', `landed on ${page.url()}`);
  });
  await step('see who is signed in', async () => {
    await page.locator('h1', { hasText: `Welcome, ${env.USERNAME}` }).waitFor();
    expect((await page.locator('[data-testid=balance]').innerText()).trim() !== '', 'the balance is shown');
    await page.locator('main', { hasText: 'Preferred account: car-1' }).waitFor();
  });
  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('h2', { hasText: 'Sign in' }).waitFor();
  });
};
