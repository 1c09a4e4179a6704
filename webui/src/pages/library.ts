// The library: newest first, a page at a time as the grid scrolls, filtered by date, tag, event or text;
// files dropped on the page (or picked) are uploaded with their progress and the box's answer.
import { useEffect, useRef, useState } from 'preact/hooks';

import { api, Asset, WorkspaceRole } from '../api';
import { Outcome, upload } from '../upload';
import { bytes, html } from '../ui';

const PAGE = 120;

/** On a phone the filters start folded, so the first screen shows photos rather than inputs. */
const wide = typeof matchMedia === 'function' && matchMedia('(min-width: 40rem)').matches;

interface Filters {
  from: string;
  to: string;
  tag: string;
  /** An event's id. */
  event: string;
  q: string;
}

interface Sending {
  name: string;
  size: number;
  sent: number;
  outcome?: Outcome;
  message?: string;
}

function query(workspace: string, f: Filters, cursor: string | null): string {
  const p = new URLSearchParams({ workspace, limit: String(PAGE) });
  for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
  if (cursor) p.set('cursor', cursor);
  return `/assets?${p}`;
}

export function Library({ workspace }: { workspace: WorkspaceRole }) {
  const [filters, setFilters] = useState<Filters>({ from: '', to: '', tag: '', event: '', q: '' });
  const [events, setEvents] = useState<{ id: number; title: string }[]>([]);
  const [assets, setAssets] = useState<Asset[]>([]);
  const [done, setDone] = useState(false);
  const [sending, setSending] = useState<Sending[]>([]);
  // The observer's callback outlives renders: it reads where the listing is from refs, never from
  // a render's stale copy (which would fetch the first page twice).
  const cursor = useRef<string | null>(null);
  const finished = useRef(false);
  const loading = useRef(false);
  const sentinel = useRef<HTMLDivElement>(null);
  const generation = useRef(0);

  const more = async (reset = false) => {
    if (reset) {
      generation.current++;
      cursor.current = null;
      finished.current = false;
    } else if (loading.current || finished.current) {
      return;
    }
    const mine = generation.current;
    loading.current = true;
    try {
      const page = await api<{ assets: Asset[]; next_cursor: string | null }>('GET', query(workspace.slug, filters, cursor.current));
      if (mine !== generation.current) return;
      setAssets((had) => (reset ? page.assets : [...had, ...page.assets]));
      cursor.current = page.next_cursor;
      finished.current = !page.next_cursor;
      setDone(finished.current);
    } finally {
      if (mine === generation.current) loading.current = false;
    }
  };

  useEffect(() => {
    more(true);
  }, [workspace.slug, filters]);

  useEffect(() => {
    api<{ id: number; title: string }[]>('GET', `/events?workspace=${encodeURIComponent(workspace.slug)}`).then(setEvents, () => setEvents([]));
  }, [workspace.slug]);

  useEffect(() => {
    const node = sentinel.current;
    if (!node) return;
    const seen = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && more());
    seen.observe(node);
    return () => seen.disconnect();
  });

  const send = async (files: FileList | File[]) => {
    const list = Array.from(files);
    const start = sending.length;
    setSending((s) => [...s, ...list.map((f) => ({ name: f.name, size: f.size, sent: 0 }))]);
    const update = (i: number, change: Partial<Sending>) =>
      setSending((s) => s.map((x, j) => (j === start + i ? { ...x, ...change } : x)));
    for (const [i, file] of list.entries()) {
      const result = await upload(file, workspace.slug, (sent) => update(i, { sent }));
      update(i, { sent: file.size, outcome: result.outcome, message: result.message });
    }
    more(true);
  };

  const canUpload = workspace.role !== 'viewer';
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    if (canUpload && e.dataTransfer?.files.length) send(e.dataTransfer.files);
  };
  const setFilter = (key: keyof Filters) => (e: Event) => setFilters({ ...filters, [key]: (e.target as HTMLInputElement).value });

  return html`
    <section class="library" onDragOver=${(e: DragEvent) => e.preventDefault()} onDrop=${onDrop}>
      <h1>${workspace.name}</h1>
      <details class="filter-box" open=${wide}>
      <summary>Filter</summary>
      <form class="filters" role="search" onSubmit=${(e: Event) => e.preventDefault()}>
        ${/* Not bound to state: a page arriving while someone types would reset what they typed. */ ''}
        <label>From <input type="date" onChange=${setFilter('from')} /></label>
        <label>To <input type="date" onChange=${setFilter('to')} /></label>
        <label>Tag <input onChange=${setFilter('tag')} /></label>
        <label>Event <select onChange=${setFilter('event')}>
          <option value="">Any</option>
          ${events.map((e) => html`<option value=${e.id}>${e.title}</option>`)}
        </select></label>
        <label>Search <input type="search" onChange=${setFilter('q')} /></label>
      </form>
      </details>
      ${canUpload &&
      html`<div class="dropzone">
        <p class="drop-hint">Drop photos and videos here, or</p>
        <label class="button">Choose files<input type="file" multiple accept="image/*,video/*" class="hidden"
          onChange=${(e: Event) => { const input = e.target as HTMLInputElement; if (input.files) send(input.files); input.value = ''; }} /></label>
      </div>`}
      ${sending.length > 0 &&
      html`<ul class="uploads" aria-label="Uploads">
        ${sending.map(
          (s) => html`<li class=${s.outcome ?? 'sending'}>
            <span class="name">${s.name}</span>
            <progress max=${s.size || 1} value=${s.sent} aria-label=${`${s.name} progress`}></progress>
            <span class="answer">${s.outcome ? s.message : `${bytes(s.sent)} of ${bytes(s.size)}`}</span>
          </li>`,
        )}
      </ul>`}
      <ul class="grid" aria-label="Photos">
        ${assets.map(
          (a) => html`<li>
            <a href=${`#/photo/${a.id}`} title=${a.title ?? a.original_name}>
              <img src=${`/api/v1/assets/${a.id}/thumbnail`} alt=${a.title ?? a.original_name} loading="lazy" width="256" height="256" />
            </a>
          </li>`,
        )}
      </ul>
      ${assets.length === 0 && done && html`<p class="empty">No photos here yet.</p>`}
      <div ref=${sentinel} class="sentinel" aria-hidden="true"></div>
    </section>
  `;
}
