// The integrations page in a real browser against shoeboxd and the cloud fakes: a Google Drive
// copy connected through the device-code screen (the code typed at the provider's page in another
// tab), a OneDrive folder brought in the same way and its row updating after the sync, auto sync
// switched off, a Dropbox copy connected by pasting the code Dropbox shows, details, refresh and
// removal. Screenshots go to the output folder.
//
// node tests/integrations.mjs BASE_URL USER PASSWORD OUT_DIR
import { everyControlLabelled, run, shooter, step } from './browser.mjs';

const [base, user, password, out] = process.argv.slice(2);
if (!base || !user || !password || !out) {
  console.error('usage: integrations.mjs BASE_URL USER PASSWORD OUT_DIR');
  process.exit(2);
}

await run(async (browser, watch) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  watch(page);
  page.on('dialog', (d) => d.accept());
  const shot = shooter(page, out);
  const connectForm = page.getByRole('form', { name: 'New connection' });
  const connection = (id) => page.evaluate((id) => fetch(`/api/v1/connections/${id}`).then((r) => r.json()), id);
  const connectionIds = () =>
    page.evaluate(() => fetch('/api/v1/workspaces/default/connections').then((r) => r.json()))
      .then((list) => Object.fromEntries(list.map((c) => [`${c.direction} ${c.provider}`, c.id])));

  /** The owner, on another device, types the code the box shows at the provider's page. */
  const allowDeviceCode = async () => {
    const code = (await page.getByLabel('Code to enter').textContent()).trim();
    const link = page.locator('.sign-in a');
    const provider = await context.newPage();
    await provider.goto(await link.getAttribute('href'));
    await provider.getByLabel('Code').fill(code.toLowerCase());
    await provider.getByRole('button', { name: 'Allow' }).click();
    await provider.getByText('Allowed.').waitFor();
    await provider.close();
  };

  await step('sign in and open the integrations page', async () => {
    await page.goto(base + '/');
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrations' }).click();
    await page.getByRole('heading', { name: 'Integrations' }).waitFor();
    await page.getByText('No copies yet.').waitFor();
    await everyControlLabelled(page);
    await shot('01-integrations-empty');
  });

  await step('copy to Google Drive through the device-code screen', async () => {
    await connectForm.getByLabel('Service').selectOption('google_drive');
    await connectForm.getByLabel('Folder in Google Drive').fill('Shoebox');
    await connectForm.getByRole('button', { name: 'Connect' }).click();
    await page.getByLabel('Code to enter').waitFor();
    await shot('02-device-code');
    await allowDeviceCode();
    await page.getByText('Connected to Google Drive.').waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('switch', { name: 'Copy photos for Google Drive Shoebox' }).waitFor();
  });

  await step('bring a OneDrive folder in, and see its row update after the sync', async () => {
    await connectForm.getByLabel('Bring the photos of a cloud folder into this workspace').check();
    await connectForm.getByLabel('Service').selectOption('onedrive');
    await connectForm.getByLabel('Folder in OneDrive').fill('Camera Roll');
    await connectForm.getByLabel('Into the folder').fill('OneDrive');
    await connectForm.getByRole('button', { name: 'Connect' }).click();
    await page.getByLabel('Code to enter').waitFor();
    await allowDeviceCode();
    await page.getByText('Connected to OneDrive.').waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.getByRole('row').filter({ hasText: 'Camera Roll' });
    await row.getByText('Up to date').waitFor();
    const synced = await row.locator('td').nth(2).textContent();
    if (synced === 'never') throw new Error('the row shows no last sync after the sync finished');
    await row.getByText('admin').waitFor();
    await row.getByRole('button', { name: 'Details of OneDrive Camera Roll' }).click();
    await page.getByRole('region', { name: 'Details of OneDrive Camera Roll' }).getByText('1 new').waitFor();
    await everyControlLabelled(page);
    await shot('03-folder-synced');
  });

  await step('switch auto sync off', async () => {
    const toggle = page.getByRole('switch', { name: 'Auto sync for OneDrive Camera Roll' });
    if (!(await toggle.isChecked())) throw new Error('auto sync starts off');
    await toggle.uncheck();
    const id = (await connectionIds())['pull onedrive'];
    await page.waitForFunction(
      (id) => fetch(`/api/v1/connections/${id}`).then((r) => r.json()).then((c) => c.auto_sync === false),
      id,
    );
    await page.reload();
    await page.getByRole('switch', { name: 'Auto sync for OneDrive Camera Roll' }).waitFor();
    if (await page.getByRole('switch', { name: 'Auto sync for OneDrive Camera Roll' }).isChecked()) {
      throw new Error('auto sync shows on after a reload');
    }
  });

  await step('refresh the folder now', async () => {
    const id = (await connectionIds())['pull onedrive'];
    const before = (await connection(id)).last_sync_at;
    await page.getByRole('button', { name: 'Refresh OneDrive Camera Roll' }).click();
    await page.waitForFunction(
      ([id, before]) => fetch(`/api/v1/connections/${id}`).then((r) => r.json())
        .then((c) => c.state === 'idle' && c.last_sync_at !== before),
      [id, before],
    );
    if (await page.getByRole('alert').count()) throw new Error(await page.getByRole('alert').first().textContent());
  });

  await step('the photo brought in is copied to Google Drive', async () => {
    const row = page.getByRole('row').filter({ hasText: 'Google Drive' });
    await row.getByText('Up to date').waitFor();
    const copied = await row.locator('td').nth(3).textContent();
    if (copied === 'never') throw new Error('the Google Drive row shows no copy');
  });

  await step('copy to Dropbox by pasting the code it shows', async () => {
    await connectForm.getByLabel('Copy every photo of this workspace to the cloud').check();
    await connectForm.getByLabel('Service').selectOption('dropbox');
    await connectForm.getByLabel('Folder in Dropbox').fill('Shoebox');
    await connectForm.getByRole('button', { name: 'Connect' }).click();
    const link = page.getByRole('link', { name: "Open Dropbox's sign-in page" });
    await link.waitFor();
    await shot('04-paste-code');
    const provider = await context.newPage();
    await provider.goto(await link.getAttribute('href'));
    const code = (await provider.locator('#code').textContent()).trim();
    await provider.close();
    await page.getByLabel('Code or address').fill(code);
    await page.getByRole('form', { name: 'Code from Dropbox' }).getByRole('button', { name: 'Connect' }).click();
    await page.getByText('Connected to Dropbox.').waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('row').filter({ hasText: 'Dropbox' }).getByText('Up to date').waitFor();
    await shot('05-integrations');
  });

  await step('pause and remove a copy', async () => {
    const toggle = page.getByRole('switch', { name: 'Copy photos for Dropbox Shoebox' });
    await toggle.uncheck();
    await page.getByRole('row').filter({ hasText: 'Dropbox' }).getByText('Paused').waitFor();
    await page.getByRole('button', { name: 'Remove Dropbox Shoebox' }).click();
    await page.getByRole('row').filter({ hasText: 'Dropbox' }).waitFor({ state: 'detached' });
    if ('push dropbox' in (await connectionIds())) throw new Error('the Dropbox connection is still there');
  });

  await step('a cancelled sign-in leaves no connection behind', async () => {
    await connectForm.getByLabel('Service').selectOption('onedrive');
    await connectForm.getByLabel('Folder in OneDrive').fill('Later');
    await connectForm.getByRole('button', { name: 'Connect' }).click();
    await page.getByLabel('Code to enter').waitFor();
    await page.locator('.sign-in').getByRole('button', { name: 'Cancel' }).click();
    await page.getByLabel('Code to enter').waitFor({ state: 'detached' });
    if ('push onedrive' in (await connectionIds())) throw new Error('the cancelled connection stayed');
  });

  await step('phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('06-integrations-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) {
      const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 5).map((el) => el.outerHTML.slice(0, 120)));
      throw new Error(`the page is ${overflow}px wider than the phone: ${wide.join(' | ')}`);
    }
  });
});
