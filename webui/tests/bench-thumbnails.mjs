// The browser side of scripts/bench-webui: how long until the library's first screen of thumbnails
// is on show, in a fresh browser context (empty browser cache), and how long the next page takes
// after scrolling to the bottom. The same measurement runs on a static copy of the very same page
// served by nginx, the reference. Prints one line of `key=value` figures (milliseconds, counts).
//
// node tests/bench-thumbnails.mjs app BASE_URL USER PASSWORD WIDTHxHEIGHT [DUMP_DIR]
//   signs in (API, so the library is not shown before the clock starts), opens BASE_URL/#/library,
//   waits for every thumbnail <img> in the viewport to be loaded, then scrolls to the bottom and
//   waits for the next page and its thumbnails in view. With DUMP_DIR, writes the page as it stood
//   after the first screen (page.html: the app's scripts removed, CSS inlined, thumbnails at
//   t/<id>.jpg, and a few lines that fetch next.json and append its photos when the sentinel shows)
//   and the asset ids it shows (ids.txt), for the static reference.
// node tests/bench-thumbnails.mjs static PAGE_URL WIDTHxHEIGHT
//   the same measurements on that static page (next.json: the box's answer for the next page).
import { run } from './browser.mjs';
import { writeFileSync } from 'node:fs';

const [mode, ...rest] = process.argv.slice(2);
const usage = () => {
  console.error('usage: bench-thumbnails.mjs app BASE_URL USER PASSWORD WIDTHxHEIGHT [DUMP_DIR]\n' +
    '       bench-thumbnails.mjs static PAGE_URL WIDTHxHEIGHT');
  process.exit(2);
};
if (mode !== 'app' && mode !== 'static') usage();
const [base, user, password, size, dump] = mode === 'app' ? rest : [rest[0], null, null, rest[1], null];
const [width, height] = (size ?? '').split('x').map(Number);
if (!base || !width || !height || (mode === 'app' && (!user || !password))) usage();

// Runs in every document before its own scripts: watches the grid and notes, on the page's own clock
// (milliseconds since navigation start), when every thumbnail in the viewport has loaded.
const watcher = () => {
  performance.setResourceTimingBufferSize(100000);
  const thumbs = () => Array.from(document.querySelectorAll('ul.grid img'));
  const inView = (img) => {
    const r = img.getBoundingClientRect();
    return r.width > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  };
  const loaded = (img) => img.complete && img.naturalWidth > 0;
  const waiters = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (!w.ready()) continue;
      const shown = thumbs().filter(inView);
      if (shown.length && shown.every(loaded)) {
        waiters.splice(i, 1);
        const top = document.querySelector('ul.grid').getBoundingClientRect().top;
        w.resolve({ at: performance.now(), inView: shown.length, rendered: thumbs().length, top });
      }
    }
  };
  /** Resolves when `ready()` holds and every thumbnail in view is loaded. */
  const until = (ready = () => true) => new Promise((resolve) => { waiters.push({ ready, resolve }); check(); });
  const bench = (window.__bench = { until, gridAt: null });
  // Image loads and DOM changes are the moments the answer can change; the interval is a fallback.
  document.addEventListener('load', check, true);
  document.addEventListener('error', check, true);
  new MutationObserver(() => {
    if (bench.gridAt === null && document.querySelector('ul.grid img')) bench.gridAt = performance.now();
    check();
  }).observe(document, { childList: true, subtree: true });
  setInterval(check, 25);
  // Tells the bench at once, in order with the browser's request events, so it can count what had been asked for.
  bench.first = until().then((done) => (window.__benchFirstDone(), done));
};

const isThumb = (url) => /\/thumbnail(\?|$)|\/t\/\d+\.jpg$/.test(url);

await run(async (browser, watch) => {
  const context = await browser.newContext({ viewport: { width, height } });
  await context.addInitScript(watcher);
  if (mode === 'app') {
    const r = await context.request.post(`${base}/api/v1/auth/login`, { data: { username: user, password } });
    if (!r.ok()) throw new Error(`sign-in: ${r.status()} ${await r.text()}`);
  }
  const page = await context.newPage();
  page.setDefaultTimeout(120000);
  let requested = 0;
  let requestedAtFirst = null;
  page.on('request', (r) => isThumb(r.url()) && requested++);
  await page.exposeFunction('__benchFirstDone', () => (requestedAtFirst = requested));
  watch(page);
  const errors = [];
  // A lazy image whose request the browser dropped is not an error; anything else is.
  page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && errors.push(`${r.url()}: ${r.failure()?.errorText}`));

  await page.goto(mode === 'app' ? `${base}/#/library` : base, { waitUntil: 'commit' });
  const first = await page.evaluate(async () => {
    const done = await window.__bench.first;
    const list = performance.getEntriesByType('resource').find((e) => e.name.includes('/api/v1/assets?'));
    return { ...done, gridAt: window.__bench.gridAt, listAt: list?.responseEnd ?? null };
  });
  const fields = {
    first_ms: first.at,
    grid_ms: first.gridAt,
    list_ms: first.listAt,
    in_view: first.inView,
    rendered: first.rendered,
    // Thumbnails the browser had asked for when the first screen was complete (lazy loading's margin).
    requested: requestedAtFirst,
    // Where the grid starts: what the page shows above the photos.
    grid_top_px: first.top,
  };

  if (dump) {
    const { html, ids } = await page.evaluate(() => {
      const copy = document.documentElement.cloneNode(true);
      copy.querySelectorAll('script, link[rel="stylesheet"], link[rel="modulepreload"]').forEach((n) => n.remove());
      const css = Array.from(document.styleSheets).flatMap((s) => Array.from(s.cssRules).map((r) => r.cssText)).join('\n');
      const style = document.createElement('style');
      style.textContent = css;
      copy.querySelector('head').appendChild(style);
      const ids = [];
      copy.querySelectorAll('ul.grid img').forEach((img) => {
        const id = img.getAttribute('src').match(/assets\/(\d+)\/thumbnail/)[1];
        ids.push(id);
        img.setAttribute('src', `t/${id}.jpg`);
      });
      // The reference's infinite scroll: the same sentinel asks nginx for the next page (the box's
      // very answer, saved as next.json) and appends its photos, their thumbnails static files too.
      const scroll = document.createElement('script');
      scroll.textContent = `(${(() => {
        const grid = document.querySelector('ul.grid');
        let asked = false;
        new IntersectionObserver(async (entries) => {
          if (asked || !entries.some((e) => e.isIntersecting)) return;
          asked = true;
          const page = await (await fetch('next.json')).json();
          const items = page.assets.map((a) => {
            const li = grid.querySelector('li').cloneNode(true);
            li.querySelector('a').href = `#/photo/${a.id}`;
            const img = li.querySelector('img');
            img.src = `t/${a.id}.jpg`;
            img.alt = a.title ?? a.original_name;
            return li;
          });
          grid.append(...items);
        }).observe(document.querySelector('.sentinel'));
      }).toString()})();`;
      copy.querySelector('body').appendChild(scroll);
      return { html: `<!doctype html>\n${copy.outerHTML}`, ids };
    });
    writeFileSync(`${dump}/page.html`, html);
    writeFileSync(`${dump}/ids.txt`, ids.join('\n') + '\n');
  }

  // First two screens above the bottom, until the rest of the first page has loaded (as it would
  // for someone scrolling down), so what follows measures the next page alone. Then to the bottom:
  // the sentinel asks for the next page; wait for it and its thumbnails in view.
  const next = await page.evaluate(async () => {
    const imgs = () => Array.from(document.querySelectorAll('ul.grid img'));
    const before = imgs().length;
    window.scrollTo(0, document.documentElement.scrollHeight - 2 * innerHeight);
    await window.__bench.until(() => imgs().every((i) => i.getBoundingClientRect().bottom <= 0 || (i.complete && i.naturalWidth > 0)));
    if (imgs().length !== before) throw new Error('the next page came before scrolling to the bottom');
    const start = performance.now();
    const waiting = window.__bench.until(() => document.querySelectorAll('ul.grid img').length > before);
    window.scrollTo(0, document.documentElement.scrollHeight);
    const done = await waiting;
    const lists = performance.getEntriesByType('resource').filter((e) => /\/api\/v1\/assets\?|next\.json$/.test(e.name));
    const list = lists.find((e) => e.startTime >= start);
    return {
      ms: done.at - start,
      list_ms: list ? list.responseEnd - start : null,
      list_started_ms: list ? list.startTime - start : null,
      in_view: done.inView,
      rendered: done.rendered,
    };
  });
  Object.assign(fields, {
    next_ms: next.ms,
    next_list_ms: next.list_ms,
    next_list_started_ms: next.list_started_ms,
    next_in_view: next.in_view,
    next_rendered: next.rendered,
  });
  if (errors.length) throw new Error(`failed requests: ${errors.slice(0, 5).join('; ')}`);
  const shown = Object.entries(fields).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`);
  console.log(shown.join(' '));
});
