// Every sign-in method through the console: an administrator adds an OpenID provider; mia
// registers with an e-mail code (read from maildev), adds a passkey (Chromium's virtual
// authenticator) and signs in with it, ends another of her sessions, turns TOTP on and signs in
// with a code; noah changes his password with an e-mail code; olga resets a forgotten one; a
// new user signs in through the provider's own pages.
// Env: BASE_URL, ADMIN_USER, ADMIN_PASSWORD, MAILDEV_URL, ISSUER, CLIENT_ID, CLIENT_SECRET.
const crypto = require('crypto');

// The 6-digit code of the newest mail maildev received for an address, once there are n.
async function mailCode(env, to, n) {
  for (let i = 0; i < 200; i++) {
    const mails = (await (await fetch(`${env.MAILDEV_URL}/email`)).json())
      .filter((m) => (m.to || []).some((a) => a.address.toLowerCase() === to));
    if (mails.length >= n) return mails[mails.length - 1].text.match(/\b[0-9]{6}\b/)[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail ${n} for ${to}`);
}

// A TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) of the base32 secret at the given time step.
function totp(secret, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

async function signInWithPassword(t, username, password) {
  const { page } = t;
  await page.goto(`${t.env.BASE_URL}/app`);
  await page.locator('h2', { hasText: 'Sign in' }).waitFor();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.locator('form button[type=submit]').click();
}

async function signOut(t) {
  await t.page.getByRole('button', { name: 'Sign out' }).first().click();
  await t.page.locator('h2', { hasText: 'Sign in' }).waitFor();
}

// Clicks start and goes through the provider's own pages (its login form as login, then its
// consent form) until the browser is back on Poolgate.
// The provider's session is forgotten first, so its login page always shows.
async function atProvider(t, login, start) {
  const { page } = t;
  await t.context.clearCookies({ domain: new URL(t.env.ISSUER).hostname });
  await start.click();
  const base = new URL(t.env.BASE_URL).host;
  await page.waitForURL((u) => new URL(u).host !== base);
  for (let i = 0; i < 6 && new URL(page.url()).host !== base; i++) {
    await page.locator('form').first().waitFor();
    if (await page.locator('input[name=login]').count()) {
      await page.locator('input[name=login]').fill(login);
      await page.locator('input[name=password]').fill('any-password');
    }
    await Promise.all([page.waitForNavigation(), page.locator('form button[type=submit]').first().click()]);
  }
}

const welcome = (t, name) => t.page.locator('h1', { hasText: `Welcome, ${name}` }).waitFor();
const signedInAs = (t, name) => t.page.locator('.topbar .who', { hasText: name }).waitFor();

module.exports = async function (t) {
  const { page, env, step, expect } = t;
  await step('the administrator adds an OpenID provider', async () => {
    await page.goto(`${env.BASE_URL}/admin`);
    await page.getByLabel('Username').fill(env.ADMIN_USER);
    await page.getByLabel('Password', { exact: true }).fill(env.ADMIN_PASSWORD);
    await page.locator('form button[type=submit]').click();
    await go(t, 'Sign-in providers', 'Sign-in providers');
    await page.getByRole('button', { name: 'New provider' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.getByLabel('Slug').fill('local');
    await dlg.getByLabel('Name', { exact: true }).fill('Local ID');
    await dlg.getByLabel('Kind').selectOption('oidc');
    await dlg.getByLabel('Issuer (OpenID Connect)').fill(env.ISSUER);
    await dlg.getByLabel('Client id').fill(env.CLIENT_ID);
    await dlg.getByLabel('Client secret').fill(env.CLIENT_SECRET);
    await look(t, 'admin-sign-in-create');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'detached' }).catch(() => {});
    await page.locator('td', { hasText: 'Local ID' }).first().waitFor();
    await page.locator('td', { hasText: 'secret set' }).first().waitFor();
    expect(!(await page.content()).includes(env.CLIENT_SECRET), 'the client secret is never rendered');
    await page.locator('td code', { hasText: `${env.BASE_URL}/auth/callback` }).waitFor();
    await look(t, 'admin-sign-in');
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.locator('h2', { hasText: 'Administrator sign-in' }).waitFor();
  });

  await step('register with an e-mail code', async () => {
    await page.goto(`${env.BASE_URL}/app`);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.locator('h2', { hasText: 'Create an account' }).waitFor();
    await page.getByLabel('Username').fill('mia');
    await page.getByLabel('E-mail address').fill('mia@example.test');
    await page.getByRole('button', { name: 'Send a code' }).click();
    await page.locator('[role=status]', { hasText: 'A code is on its way to mia@example.test' }).waitFor();
    await page.getByLabel('E-mail code').fill('000000');
    await page.getByLabel('Password', { exact: true }).fill('password-mia');
    const code = await mailCode(env, 'mia@example.test', 1);
    if (code !== '000000') {
      await page.locator('form button[type=submit]').click();
      await page.locator('[role=alert]', { hasText: 'the e-mail code is wrong or has expired' }).waitFor();
    }
    await look(t, 'app-register');
    await page.getByLabel('E-mail code').fill(code);
    await page.locator('form button[type=submit]').click();
    await welcome(t, 'mia');
  });

  await step('add a passkey, end another session, sign in with the passkey', async () => {
    const cdp = await t.context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await go(t, 'Security', 'Security');
    await page.getByLabel('Passkey name').fill('virtual key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('[role=status]', { hasText: 'The passkey is added' }).waitFor();
    await page.locator('td', { hasText: 'virtual key' }).waitFor();

    // Another session of mia's (a sign-in elsewhere), listed beside this one, then ended.
    const other = await fetch(`${env.BASE_URL}/auth/password/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'mia', password: 'password-mia' }),
    });
    expect(other.status === 200, `another sign-in: ${other.status}`);
    await go(t, 'Dashboard', 'Welcome');
    await go(t, 'Security', 'Security');
    const sessions = page.getByRole('region', { name: 'Sessions' });
    await sessions.getByRole('button', { name: 'End' }).waitFor();
    expect((await sessions.locator('tbody tr').count()) === 2, 'both sessions are listed');
    await look(t, 'app-security');
    await sessions.getByRole('button', { name: 'End' }).click();
    await page.locator('[role=status]', { hasText: 'The session has ended.' }).waitFor();
    await sessions.getByRole('button', { name: 'End' }).waitFor({ state: 'detached' });
    expect((await sessions.locator('tbody tr').count()) === 1, 'only this session is left');

    await signOut(t);
    await page.getByRole('button', { name: 'A passkey' }).click();
    await signedInAs(t, 'mia');
    await sessions.locator('td', { hasText: 'passkey' }).waitFor();
  });

  await step('link an identity at the OpenID provider', async () => {
    await atProvider(t, 'mia-ext', page.getByRole('button', { name: 'Link Local ID' }));
    await page.locator('main h1', { hasText: 'Security' }).waitFor();
    await signedInAs(t, 'mia');
  });

  await step('turn TOTP on, then sign in with a code', async () => {
    await go(t, 'Security', 'Security');
    await page.getByRole('button', { name: 'Set up' }).click();
    const secret = (await page.locator('[data-testid=totp-secret]').innerText()).trim();
    const step = Math.floor(Date.now() / 30000);
    await page.getByLabel('Code from your authenticator app').fill(totp(secret, step));
    await look(t, 'app-security-totp');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.locator('[role=status]', { hasText: 'Two-factor authentication is on' }).waitFor();
    await signOut(t);
    await signInWithPassword(t, 'mia', 'password-mia');
    const code = page.getByLabel('Code from your authenticator app');
    await code.waitFor();
    await look(t, 'app-signin-totp');
    // The next time step's code: the server takes a step either side, each step once.
    await code.fill(totp(secret, step + 1));
    await page.locator('form button[type=submit]').click();
    await welcome(t, 'mia');
    await signOut(t);
  });

  await step('change the password with an e-mail code', async () => {
    await signInWithPassword(t, 'noah', 'password-noah');
    await welcome(t, 'noah');
    await go(t, 'Security', 'Security');
    await page.getByLabel('A code sent to noah@example.test').check();
    await page.getByRole('button', { name: 'Send a code' }).click();
    await page.getByLabel('E-mail code').fill(await mailCode(env, 'noah@example.test', 1));
    await page.getByLabel('New password').fill('password-noah-2');
    await page.getByRole('button', { name: 'Change the password' }).click();
    await page.locator('[role=status]', { hasText: 'The password is changed' }).waitFor();
    await signOut(t);
    await signInWithPassword(t, 'noah', 'password-noah-2');
    await welcome(t, 'noah');
    await signOut(t);
  });

  await step('reset a forgotten password with an e-mail code', async () => {
    await page.getByRole('button', { name: 'Forgot the password?' }).click();
    await page.locator('h2', { hasText: 'Reset the password' }).waitFor();
    await page.getByLabel('E-mail address').fill('olga@example.test');
    await page.getByRole('button', { name: 'Send a code' }).click();
    await page.getByLabel('E-mail code').fill(await mailCode(env, 'olga@example.test', 1));
    await page.getByLabel('New password').fill('password-olga-2');
    await look(t, 'app-reset');
    await page.locator('form button[type=submit]').click();
    await page.locator('[role=status]', { hasText: 'Your password is changed' }).waitFor();
    await page.getByLabel('Username').fill('olga');
    await page.getByLabel('Password', { exact: true }).fill('password-olga-2');
    await page.locator('form button[type=submit]').click();
    await welcome(t, 'olga');
    await signOut(t);
  });

  await step('sign in through the OpenID provider', async () => {
    await page.goto(`${env.BASE_URL}/app`);
    await look(t, 'app-signin-methods');
    // mia's linked identity signs her in; a new identity registers a new user.
    await atProvider(t, 'mia-ext', page.getByRole('link', { name: 'Local ID' }));
    await signedInAs(t, 'mia');
    await signOut(t);
    await atProvider(t, 'pat', page.getByRole('link', { name: 'Local ID' }));
    await welcome(t, 'pat');
    await go(t, 'Security', 'Security');
    const sessions = page.getByRole('region', { name: 'Sessions' });
    await sessions.locator('td', { hasText: 'sso' }).waitFor();
  });
};
