// The web app on a box that requires its API key: the app asks for it first (a wrong one is
// refused), then signs in, uploads, and shows thumbnails, which the browser fetches by `<img>`
// with only the session cookie.
//
// node tests/api-key.mjs BASE_URL API_KEY USER PASSWORD PHOTO OUT_DIR
import { run, shooter, step } from './browser.mjs';

const [base, key, user, password, photo, out] = process.argv.slice(2);
if (!base || !key || !user || !password || !photo || !out) {
  console.error('usage: api-key.mjs BASE_URL API_KEY USER PASSWORD PHOTO OUT_DIR');
  process.exit(2);
}
await run(async (browser, watch) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(15000);
  watch(page);
  const shot = shooter(page, out);

  await step('the app asks for the key and refuses a wrong one', async () => {
    await page.goto(base + '/');
    await page.getByRole('heading', { name: 'This box needs its API key' }).waitFor();
    await page.getByLabel('API key').fill('not-the-key');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').getByText('That key is not the one the box has.').waitFor();
    await shot('01-api-key');
  });

  await step('with the right key: sign in', async () => {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('User name').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  await step('upload, and the thumbnail loads', async () => {
    await page.getByLabel('Choose files').setInputFiles([photo]);
    await page.locator('.uploads li.stored').waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('.grid img')].some((i) => i.complete && i.naturalWidth > 0));
    await shot('02-library-with-key');
  });

  await step('the key is remembered', async () => {
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });
});
