// Money through the console: an administrator creates a plan (a malformed rule and a rule the
// server refuses first), sets multipliers and makes a code granting the plan; an invited user
// redeems it (the subscription shown), buys the plan again (a renewal) and tops up through
// the EPay test gateway (its signed notify credits the order; the order's state is shown on
// return), sees the subscription, the orders, the referral link, their prices after the
// multipliers and their shared quota; the administrator sees the orders, notifies and the
// inviter's commission; the public pricing page lists the model.
// Env: BASE_URL, ADMIN_USER, ADMIN_PASSWORD, USERNAME, PASSWORD, USER_ID, MODEL, INVITER.

async function signIn(t, path, user, password, heading) {
  const { page, env } = t;
  await page.goto(`${env.BASE_URL}${path}`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.locator('form button[type=submit]').click();
  await page.locator('main h1', { hasText: heading }).first().waitFor();
}

// pay goes through the test gateway's page and waits until the console shows the order paid.
async function pay(t, paid) {
  const { page } = t;
  await page.locator('h1', { hasText: 'Test gateway' }).waitFor();
  await page.getByRole('button', { name: 'Pay' }).click();
  await page.waitForURL(/\/app\/wallet\?order_no=/);
  await page.locator('[data-testid=order-status]', { hasText: paid }).waitFor();
}

module.exports = async function (t) {
  const { page, env, step, expect } = t;
  let planBought = false;
  let planCode;
  await step('the administrator creates a plan', async () => {
    await signIn(t, '/admin/plans', env.ADMIN_USER, env.ADMIN_PASSWORD, 'Plans');
    await page.getByRole('button', { name: 'New plan' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Name', { exact: true }).fill('Pro monthly');
    await dlg.getByLabel('Tier', { exact: true }).selectOption('pro');
    await dlg.getByLabel('Days', { exact: true }).fill('30');
    await dlg.getByLabel('Quota units granted').fill('500000');
    await dlg.getByLabel('Price', { exact: true }).fill('12.5');
    await dlg.getByLabel('Limit rules').fill('* 3h many');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.locator('[role=alert]', { hasText: 'Not a limit rule' }).waitFor();
    await dlg.getByLabel('Limit rules').fill('* 0s 100 - -');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const refused = dlg.locator('[role=alert]').filter({ hasNotText: 'Not a limit rule' });
    await refused.waitFor();
    t.log(`a zero window is refused: ${await refused.innerText()}`);
    await dlg.getByLabel('Limit rules').fill('* 3h 100 - -');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const row = page.getByRole('row', { name: /Pro monthly/ });
    await row.waitFor();
    await row.locator('td', { hasText: '12.50' }).waitFor();
    await row.locator('td', { hasText: '* 3h 100 - -' }).waitFor();
    await look(t, 'admin-plans');
  });
  await step('the administrator sets multipliers', async () => {
    await go(t, 'Multipliers', 'Multipliers');
    const cg = page.locator('section.card', { hasText: 'Channel × group' });
    await cg.getByLabel('Channel', { exact: true }).selectOption({ index: 1 });
    await cg.getByRole('button', { name: 'Add a row' }).click();
    const vip = await cg.getByLabel('Group').locator('option', { hasText: 'vip' }).getAttribute('value');
    await cg.getByLabel('Group').selectOption(vip);
    await cg.getByLabel('Multiplier (‰)').fill('1500');
    await cg.getByRole('button', { name: 'Save' }).click();
    await cg.locator('[role=status]', { hasText: 'Saved.' }).waitFor();
    const uc = page.locator('section.card', { hasText: 'User × channel' });
    await uc.getByLabel('User id').fill('999999');
    await uc.getByRole('button', { name: 'Open' }).click();
    const missing = uc.locator('[role=alert]');
    await missing.waitFor();
    expect((await missing.innerText()).length > 0, 'an unknown user is refused in the server\'s words');
    await uc.getByLabel('User id').fill(env.USER_ID);
    await uc.getByRole('button', { name: 'Open' }).click();
    await uc.locator('p', { hasText: 'No multipliers' }).waitFor();
    await uc.getByRole('button', { name: 'Add a row' }).click();
    await uc.getByLabel('Multiplier (‰)').fill('2000');
    await uc.getByRole('button', { name: 'Save' }).click();
    await uc.locator('[role=status]', { hasText: 'Saved.' }).waitFor();
    await look(t, 'admin-multipliers');
  });
  await step('the administrator makes a code that grants the plan', async () => {
    await go(t, 'Redemption codes', 'Redemption codes');
    await page.getByRole('button', { name: 'New batch' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Batch name').fill('pro-gift');
    await dlg.getByLabel('How many codes').fill('1');
    const plan = await dlg.getByLabel('What each code gives').locator('option', { hasText: 'Pro monthly' }).getAttribute('value');
    await dlg.getByLabel('What each code gives').selectOption(plan);
    await dlg.getByRole('button', { name: 'Create' }).click();
    const box = page.locator('[data-testid=new-codes]');
    await box.waitFor();
    planCode = (await box.innerText()).trim();
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('region', { name: 'Codes' }).locator('tbody tr', { hasText: 'pro-gift' }).locator('td', { hasText: 'plan Pro monthly' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.getByLabel('Username').waitFor(); // signed out before the next page loads
  });
  await step('an invited user buys the plan through the gateway', async () => {
    await signIn(t, '/app/plans', env.USERNAME, env.PASSWORD, 'Plans');
    await page.locator('[data-testid=subscription]', { hasText: 'No plan running' }).waitFor();
    const card = page.locator('section.card.plan', { hasText: 'Pro monthly' });
    await card.locator('.big', { hasText: '12.50' }).waitFor();
    await look(t, 'app-plans-offer');
    await go(t, 'Wallet', 'Wallet');
    await page.getByLabel('Redemption code').fill(planCode);
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.locator('[role=status]', { hasText: 'Redeemed the plan Pro monthly until' }).waitFor();
    await go(t, 'Plans', 'Plans');
    await page.locator('[data-testid=subscription]', { hasText: 'Pro monthly' }).waitFor();
    await page.getByRole('region', { name: 'Grants' }).locator('td', { hasText: 'code · new' }).waitFor();
    await look(t, 'app-plans');
    await card.getByRole('button', { name: 'Buy Pro monthly' }).click();
    // A build whose payments are not wired to plans yet refuses plan orders (422
    // payment_plan_unavailable): the refusal is shown as worded and the plan is not bought.
    const unwired = card.locator('[role=alert]', { hasText: 'plans cannot be bought here' });
    const outcome = await Promise.race([
      page.locator('h1', { hasText: 'Test gateway' }).waitFor().then(() => 'gateway', () => null),
      unwired.waitFor().then(() => 'refused', () => null),
    ]);
    expect(outcome !== null, 'Buy leads to the gateway (or shows the server\'s refusal)');
    planBought = outcome === 'gateway';
    if (!planBought) {
      t.log('this build refuses plan orders (payment_plan_unavailable): the plan purchase is not checked');
      return;
    }
    await pay(t, 'Paid: the plan is yours');
    await look(t, 'app-wallet-order');
    await go(t, 'Plans', 'Plans');
    await page.locator('main .countdown').first().waitFor();
    await page.getByRole('region', { name: 'Grants' }).locator('td', { hasText: 'payment · renewal' }).waitFor();
    await look(t, 'app-plans-renewed');
  });
  await step('the user tops up and sees the orders and the referral link', async () => {
    await go(t, 'Wallet', 'Wallet');
    await page.getByLabel('Amount').fill('2.00');
    await page.locator('[data-testid=top-up-quota]', { hasText: 'Credits 1,000,000 quota units once paid.' }).waitFor();
    await page.getByRole('button', { name: 'Pay', exact: true }).click();
    await pay(t, 'Paid: 1,000,000 quota units were credited.');
    const orders = page.getByRole('region', { name: 'My orders' });
    await orders.locator('tbody tr', { hasText: 'top-up' }).locator('.badge', { hasText: 'paid' }).waitFor();
    if (planBought) await orders.locator('tbody tr', { hasText: 'a plan' }).locator('.badge', { hasText: 'paid' }).waitFor();
    const link = await page.locator('[data-testid=referral-link]').innerText();
    expect(/\?aff=/.test(link), `the referral link carries the code: ${link}`);
    await look(t, 'app-wallet');
  });
  await step('the user\'s prices after the multipliers, and the shared quota', async () => {
    await go(t, 'Models and my prices', 'Models and my prices');
    const row = page.getByRole('region', { name: 'My prices' }).getByRole('row', { name: new RegExp(env.MODEL) });
    await row.locator('td', { hasText: '×3.000' }).waitFor();
    await row.locator('td[data-label="Input / 1M tokens"]', { hasText: '3,000' }).waitFor();
    await row.locator('td[data-label="Input / 1M tokens"]', { hasText: 'list 1,000' }).waitFor();
    await look(t, 'app-models');
    await go(t, 'Dashboard', 'Welcome');
    const quota = page.getByRole('region', { name: 'Shared quota' });
    await quota.locator('td[data-label="Family"]').first().waitFor();
    await look(t, 'app-dashboard-quota');
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.getByLabel('Username').waitFor(); // signed out before the next page loads
  });
  await step('the administrator sees the orders, the notifies and the commission', async () => {
    await signIn(t, '/admin/orders', env.ADMIN_USER, env.ADMIN_PASSWORD, 'Orders and payments');
    const orders = page.getByRole('region', { name: 'Orders', exact: true });
    const paid = planBought ? 2 : 1;
    await orders.locator('tbody tr', { hasText: env.USERNAME }).nth(paid - 1).waitFor();
    const notifies = page.getByRole('region', { name: 'Payment notifies' });
    await notifies.locator('.badge', { hasText: 'credited' }).nth(paid - 1).waitFor();
    expect((await notifies.locator('.badge', { hasText: 'credited' }).count()) === paid, 'each order credited by one notify');
    const comm = page.getByRole('region', { name: 'Referral commissions' });
    await comm.locator('tbody tr', { hasText: env.INVITER }).locator('td', { hasText: '100,000' }).waitFor();
    if (planBought) await comm.locator('tbody tr', { hasText: env.INVITER }).locator('td', { hasText: '625,000' }).waitFor();
    await look(t, 'admin-orders');
  });
  await step('the public pricing page', async () => {
    await page.goto(`${env.BASE_URL}/pricing`);
    await page.getByRole('row', { name: new RegExp(env.MODEL) }).locator('td', { hasText: '1,000' }).first().waitFor();
    await look(t, 'public-pricing-on');
  });
};
