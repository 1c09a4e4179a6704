// What the browser tests share: Debian's Chromium driven by playwright-core, named steps that
// report and stop at the first failure, screenshots, and the check that every control has a name.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Runs `body` as a named step, printing ok or FAIL; a failure ends the test. */
export async function step(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    throw e;
  }
}

/** A full-page screenshot into `out`, which is made if missing. */
export function shooter(page, out) {
  mkdirSync(out, { recursive: true });
  return (name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
}

/** Every form control has an accessible name: the app is usable with a screen reader and keyboard. */
export async function everyControlLabelled(page) {
  const unlabelled = await page.$$eval('input, select, button, textarea', (els) =>
    els.filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && !el.textContent?.trim()).map((el) => el.outerHTML));
  if (unlabelled.length) throw new Error(`controls without a label: ${unlabelled.join(' ')}`);
}

/**
 * Launches Chromium, runs `body(browser, watch)`, and exits the process: 0 when every step passed
 * and no page given to `watch` threw a JavaScript error.
 */
export async function run(body) {
  const browser = await launch();
  const jsErrors = [];
  const pages = [];
  const refused = [];
  let failed = false;
  const watch = (page) => {
    pages.push(page);
    page.on('pageerror', (e) => jsErrors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) refused.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
  };
  try {
    await body(browser, watch);
    if (jsErrors.length) throw new Error(`JavaScript errors: ${jsErrors.join('; ')}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${e.message}`);
    await explain(pages, refused);
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}

/** What the pages showed when a step failed, and the requests the server refused: a failure that
 * only happens under load can then be told apart from a bug. */
async function explain(pages, refused) {
  for (const page of pages) {
    const text = await page.evaluate(() => document.body.innerText).catch((e) => `(unreadable: ${e.message})`);
    console.log(`page ${page.url()} showed:\n${text.slice(0, 2000)}`);
  }
  console.log(refused.length ? `refused requests:\n${refused.join('\n')}` : 'no request was refused');
}
