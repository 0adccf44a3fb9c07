// /logintoken lands on a page that exists: a sign-in link opens /app, which shows who is signed
// in, and signing out there ends the session.
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
    await page.locator('#title', { hasText: `Welcome, ${env.USERNAME}` }).waitFor();
    expect((await page.locator('#balance').innerText()) !== '', 'the balance is shown');
    expect((await page.locator('#account').innerText()) === 'car-1', 'the preferred account is shown');
  });
  await step('sign out', async () => {
    await page.click('#logout');
    await page.locator('#state', { hasText: 'not signed in' }).waitFor();
  });
};
