// The web app in a real browser (Debian's Chromium, driven by playwright-core) against a real
// shoeboxd: first-run setup, upload, thumbnails, tags, an event, a device token, the network
// policy, users, a workspace member's role, an access link opened in another browser and revoked,
// a password reset, a disabled user, the status page, sign-out and sign-in, at desktop and phone
// width. Screenshots of every page go to the output folder.
//
// node tests/walkthrough.mjs BASE_URL SETUP_CODE OUT_DIR PHOTO...
import { everyControlLabelled, run, shooter, step } from './browser.mjs';

const [base, code, out, ...photos] = process.argv.slice(2);
if (!base || !code || !out || photos.length === 0) {
  console.error('usage: walkthrough.mjs BASE_URL SETUP_CODE OUT_DIR PHOTO...');
  process.exit(2);
}

await run(async (browser, watch) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  watch(page);
  const shot = shooter(page, out);

  await step('first-run setup', async () => {
    await page.goto(base + '/');
    await page.getByLabel('Setup code').fill(code);
    await page.getByLabel("Owner's user name").fill('owner');
    await page.getByLabel('Password').fill('a long enough password');
    await everyControlLabelled(page);
    await shot('01-setup');
    await page.getByRole('button', { name: 'Create the owner account' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  await step('upload three photos with their answers', async () => {
    await page.getByLabel('Choose files').setInputFiles(photos);
    await page.locator('.uploads li.stored').nth(photos.length - 1).waitFor();
    await shot('02-uploaded');
  });

  await step('thumbnails visible', async () => {
    const images = page.getByRole('list', { name: 'Photos' }).locator('img');
    await images.nth(photos.length - 1).waitFor();
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('.grid img')].filter((i) => i.complete && i.naturalWidth > 0).length >= n,
      photos.length,
    );
    await everyControlLabelled(page);
    await shot('03-library');
  });

  await step('edit tags on a photo', async () => {
    await page.getByRole('list', { name: 'Photos' }).locator('a').first().click();
    await page.getByLabel('Tags').fill('beach, family');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.reload();
    await page.waitForFunction(() => {
      const img = document.querySelector('.photo .preview');
      return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
    });
    const tags = await page.getByLabel('Tags').inputValue();
    if (!tags.includes('beach') || !tags.includes('family')) throw new Error(`tags after reload: ${tags}`);
    await everyControlLabelled(page);
    await shot('04-photo');
  });

  await step('create an event', async () => {
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByLabel('Title').fill('Summer at the lake');
    await page.getByLabel('Starts').fill('2023-07-10T00:00:00');
    await page.getByLabel('Ends').fill('2023-07-20T23:59:59');
    await page.getByLabel('Tags').fill('holiday');
    await page.getByRole('button', { name: 'Create event' }).click();
    await page.getByRole('cell', { name: 'Summer at the lake', exact: true }).waitFor();
    await everyControlLabelled(page);
    await shot('05-events');
  });

  await step('manage a device token', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByLabel('Device name').fill("Anna's phone");
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = await page.getByRole('status').filter({ hasText: 'shown once' }).textContent();
    if (!/sbx_/.test(shown ?? '')) throw new Error(`no token shown: ${shown}`);
    await page.getByRole('cell', { name: "Anna's phone", exact: true }).waitFor();
    await everyControlLabelled(page);
    await shot('06-devices');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: "Revoke Anna's phone" }).click();
    await page.getByText('No device tokens.').waitFor();
  });

  await step('change the network policy', async () => {
    await page.getByRole('link', { name: 'Network' }).click();
    await page.getByLabel('Wi-Fi names uploads may come from (empty: any)').fill('Home');
    await page.getByRole('button', { name: 'Save the policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.reload();
    const ssids = await page.getByLabel('Wi-Fi names uploads may come from (empty: any)').inputValue();
    if (ssids.trim() !== 'Home') throw new Error(`Wi-Fi names after reload: ${ssids}`);
    await everyControlLabelled(page);
    await shot('07-network');
  });

  const guest = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const other = await guest.newPage();
  other.setDefaultTimeout(15000);
  watch(other);
  const noOverflow = async (p) => {
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) throw new Error(`the page is ${overflow}px wider than a phone`);
  };
  const newUser = page.getByRole('form', { name: 'New user' });
  let link = '';

  await step('create a user with a workspace role', async () => {
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
    await newUser.getByLabel('User name').fill('anna');
    await newUser.getByLabel('Password', { exact: true }).fill('another long password');
    await newUser.getByLabel('Default').selectOption('viewer');
    await newUser.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('status').filter({ hasText: 'anna can sign in now.' }).waitFor();
    await page.getByRole('cell', { name: 'anna', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'Default: viewer', exact: true }).waitFor();
    if (await newUser.getByLabel('User name').inputValue()) throw new Error('the form kept the name');
    await everyControlLabelled(page);
    await shot('10-users');
    // A refusal is said where a screen reader hears it.
    await newUser.getByLabel('User name').fill('anna');
    await newUser.getByLabel('Password', { exact: true }).fill('another long password');
    await newUser.getByRole('button', { name: 'Create user' }).click();
    await newUser.getByRole('alert').filter({ hasText: 'taken' }).waitFor();
    await newUser.getByLabel('User name').fill('');
    await newUser.getByLabel('Password', { exact: true }).fill('');
  });

  await step("change a member's role", async () => {
    await page.getByRole('link', { name: 'Members', exact: true }).click();
    await page.getByRole('heading', { name: 'Members of Default' }).waitFor();
    await page.getByLabel('Role of anna').selectOption('editor');
    await page.getByRole('status').filter({ hasText: 'anna is now an editor of Default.' }).waitFor();
    await page.reload();
    await page.getByRole('cell', { name: 'anna', exact: true }).waitFor();
    const role = await page.getByLabel('Role of anna').inputValue();
    if (role !== 'editor') throw new Error(`anna's role after reload: ${role}`);
    await everyControlLabelled(page);
    await shot('11-members');
  });

  await step('an access link signs another browser in as that user', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByRole('button', { name: 'Create access link for anna' }).click();
    link = await page.getByLabel('Access link for anna', { exact: true }).inputValue();
    if (!link.startsWith(`${base}/access/sbx_`)) throw new Error(`access link: ${link}`);
    await page.getByRole('button', { name: 'Copy the access link for anna' }).click();
    await page.getByText('Copied.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    if (copied !== link) throw new Error(`copied ${copied}, not the link`);
    await everyControlLabelled(page);
    await shot('12-access-link');

    await other.goto(link);
    await other.getByRole('navigation', { name: 'Main' }).waitFor();
    const who = await other.locator('.who').textContent();
    if (who !== 'anna') throw new Error(`the link signed in ${who}`);
    if (await other.getByRole('link', { name: 'Users', exact: true }).count()) throw new Error('anna sees the Users page');
    // Changes work too: the session's CSRF token came with /auth/me, as no login answer did.
    await other.getByRole('link', { name: 'Devices' }).click();
    await other.getByLabel('Device name').fill('Kitchen tablet');
    await other.getByRole('button', { name: 'Create token' }).click();
    await other.getByRole('cell', { name: 'Kitchen tablet', exact: true }).waitFor();
    await other.getByRole('link', { name: 'Access link', exact: true }).click();
    await other.getByText('You have an access link').waitFor();
    await noOverflow(other);
    await other.screenshot({ path: `${out}/13-own-access-link-phone.png`, fullPage: true });

    await page.reload();
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'anna', exact: true }) });
    await row.getByText(/last opened/).waitFor();
    if (/last opened never/.test((await row.textContent()) ?? '')) throw new Error('the link was not seen opened');
  });

  await step('a revoked access link stops working', async () => {
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Revoke access link of anna' }).click();
    await page.getByRole('status').filter({ hasText: "anna's access link is revoked." }).waitFor();
    const stranger = await browser.newContext();
    const opened = await (await stranger.newPage()).goto(link);
    await stranger.close();
    if (opened?.status() !== 401) throw new Error(`the revoked link answered ${opened?.status()}`);
    // The browser it signed in is signed out with it.
    await other.reload();
    await other.getByRole('heading', { name: 'Sign in to Shoebox' }).waitFor();
  });

  await step("reset a user's password", async () => {
    await page.getByRole('button', { name: 'Reset password of anna' }).click();
    const field = page.getByLabel('New password', { exact: true });
    if (!(await field.evaluate((el) => el === document.activeElement))) throw new Error('the password field has no focus');
    await field.fill('a brand new password');
    await page.getByRole('button', { name: 'Set the password' }).click();
    await page.getByRole('status').filter({ hasText: "anna's password is changed" }).waitFor();
    await other.getByLabel('User name').fill('anna');
    await other.getByLabel('Password').fill('a brand new password');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  await step('disable the user', async () => {
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Disable anna' }).click();
    await page.getByRole('status').filter({ hasText: 'anna is disabled.' }).waitFor();
    await page.getByRole('button', { name: 'Enable anna' }).waitFor();
    await other.reload();
    await other.getByLabel('User name').fill('anna');
    await other.getByLabel('Password').fill('a brand new password');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('alert').waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await noOverflow(page);
    await everyControlLabelled(page);
    await shot('14-users-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
    await guest.close();
  });

  await step('filter the library by tag', async () => {
    await page.goto(base + '/#/library');
    await page.getByLabel('Tag').fill('beach');
    await page.getByLabel('Tag').press('Enter');
    await page.getByLabel('Tag').blur();
    await page.waitForFunction(() => document.querySelectorAll('.grid img').length === 1);
  });

  await step('filter the library by event', async () => {
    await page.getByLabel('Tag').fill('');
    await page.getByLabel('Tag').blur();
    await page.waitForFunction((n) => document.querySelectorAll('.grid img').length === n, photos.length);
    await Promise.all([
      page.waitForRequest((r) => r.url().includes('/api/v1/assets?') && /[?&]event=\d+/.test(r.url())),
      page.getByLabel('Event').selectOption({ label: 'Summer at the lake' }),
    ]);
    await page.waitForFunction((n) => document.querySelectorAll('.grid img').length === n, photos.length);
  });

  await step('device status', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('link', { name: 'Status' }).click();
    await page.getByRole('heading', { name: 'Device status' }).waitFor();
    await page.getByText(`${photos.length} photos`).waitFor();
    await shot('08-status');
  });

  await step('phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(base + '/#/library');
    await page.locator('.grid img').first().waitFor();
    await page.waitForTimeout(500);
    const shown = await page.locator('.grid img').count();
    if (shown !== photos.length) throw new Error(`${shown} thumbnails for ${photos.length} photos`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) throw new Error(`the page is ${overflow}px wider than a phone`);
    await shot('09-library-phone');
  });

  await step('sign out and in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Shoebox' }).waitFor();
    await page.getByLabel('User name').fill('owner');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.grid img').first().waitFor();
    await shot('15-signed-in-again');
  });
});
