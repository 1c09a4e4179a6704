// The web app in a real browser (Debian's Chromium, driven by playwright-core) against a real
// shoeboxd: first-run setup, upload, thumbnails, tags, an event, a device token, the network
// policy, the status page, sign-out and sign-in, at desktop and phone width. Screenshots of every
// page go to the output folder.
//
// node tests/walkthrough.mjs BASE_URL SETUP_CODE OUT_DIR PHOTO...
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, code, out, ...photos] = process.argv.slice(2);
if (!base || !code || !out || photos.length === 0) {
  console.error('usage: walkthrough.mjs BASE_URL SETUP_CODE OUT_DIR PHOTO...');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const failures = [];
const step = async (name, body) => {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    console.log(`FAIL ${name}: ${e.message}`);
    throw e;
  }
};

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const jsErrors = [];
  page.on('pageerror', (e) => jsErrors.push(e.message));
  const shot = (name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });

  /** Every form control has an accessible name: the app is usable with a screen reader and keyboard. */
  const everyControlLabelled = async () => {
    const unlabelled = await page.$$eval('input, select, button, textarea', (els) =>
      els.filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && !el.textContent?.trim()).map((el) => el.outerHTML));
    if (unlabelled.length) throw new Error(`controls without a label: ${unlabelled.join(' ')}`);
  };

  await step('first-run setup', async () => {
    await page.goto(base + '/');
    await page.getByLabel('Setup code').fill(code);
    await page.getByLabel("Owner's user name").fill('owner');
    await page.getByLabel('Password').fill('a long enough password');
    await everyControlLabelled();
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
    await everyControlLabelled();
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
    await everyControlLabelled();
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
    await everyControlLabelled();
    await shot('05-events');
  });

  await step('manage a device token', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByLabel('Device name').fill("Anna's phone");
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = await page.getByRole('status').filter({ hasText: 'shown once' }).textContent();
    if (!/sbx_/.test(shown ?? '')) throw new Error(`no token shown: ${shown}`);
    await page.getByRole('cell', { name: "Anna's phone", exact: true }).waitFor();
    await everyControlLabelled();
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
    await everyControlLabelled();
    await shot('07-network');
  });

  await step('filter the library by tag', async () => {
    await page.goto(base + '/#/library');
    await page.getByLabel('Tag').fill('beach');
    await page.getByLabel('Tag').press('Enter');
    await page.getByLabel('Tag').blur();
    await page.waitForFunction(() => document.querySelectorAll('.grid img').length === 1);
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
    await shot('10-signed-in-again');
  });

  if (jsErrors.length) failures.push(`errors in the page: ${jsErrors.join('; ')}`);
} catch {
  // Recorded by `step`.
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
