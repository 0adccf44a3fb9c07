// The public pages: the status page, the pricing page, and the share-link chat (seed 004: init,
// then a streamed chat; a refused authToken shows the credential host's words).
// Env: BASE_URL, SHARE_ID, SHARE_TOKEN, MODEL.

module.exports = async function (t) {
  const { page, env, step, expect } = t;
  await step('status page', async () => {
    await page.goto(`${env.BASE_URL}/uptime`);
    await page.locator('h1', { hasText: 'Service status' }).waitFor();
    await page.locator('.monitors li', { hasText: 'Chat API' }).waitFor();
    await look(t, 'public-status');
  });
  await step('pricing page', async () => {
    await page.goto(`${env.BASE_URL}/pricing`);
    await page.locator('h1', { hasText: 'Pricing' }).waitFor();
    await look(t, 'public-pricing');
  });
  await step('share link: a refused token shows the refusal', async () => {
    await page.goto(`${env.BASE_URL}/share/${env.SHARE_ID}?authToken=intruder`);
    const alert = page.locator('[role=alert]');
    await alert.waitFor();
    expect((await alert.innerText()).includes('身份错误'), `the host's refusal is shown: ${await alert.innerText()}`);
    await look(t, 'public-share-refused');
  });
  await step('share link: init, then chat', async () => {
    await page.goto(`${env.BASE_URL}/share/${env.SHARE_ID}?authToken=${env.SHARE_TOKEN}`);
    await page.locator('h1', { hasText: 'films' }).waitFor();
    await page.getByLabel('Message').fill('导演是谁');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.msg.assistant:not(.streaming)', { hasText: '新海诚' }).waitFor();
    await look(t, 'public-share');
  });
};
