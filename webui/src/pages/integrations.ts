// A workspace's cloud connections: the push replications of seed 000 (one switch each) and the
// connected folders of seed 001 (folder, last synced, synced by, auto sync, details, refresh,
// delete), the sign-in step of a new or reconnected account, and the form that adds one. The list
// is polled, so a sync's progress and a sign-in finished on another device show up by themselves.
import { useEffect, useState } from 'preact/hooks';

import { api, WorkspaceRole } from '../api';
import { AuthStep, Connection, folderName, INTERVALS, Offer, PROVIDERS, stateText } from '../connections';
import { errorText, html, when } from '../ui';
import { ConnectForm } from './connect-form';
import { SignInStep } from './sign-in';

const POLL_MS = 2000;

type Act = (what: () => Promise<unknown>) => Promise<void>;

export function Integrations({ workspace }: { workspace: WorkspaceRole }) {
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [offers, setOffers] = useState<Offer[]>([]);
  const [flow, setFlow] = useState<{ id: number; fresh: boolean } | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  // A new key gives a fresh form (defaults included) after each connection made.
  const [formKey, setFormKey] = useState(0);
  const [error, setError] = useState('');
  const path = `/workspaces/${encodeURIComponent(workspace.slug)}/connections`;
  const load = () => api<Connection[]>('GET', path).then(setConnections);
  useEffect(() => {
    setConnections(null);
    load().catch((e) => setError(e.message));
    api<Offer[]>('GET', '/providers').then(setOffers, (e) => setError(errorText(e)));
    const timer = setInterval(() => load().catch(() => undefined), POLL_MS);
    return () => clearInterval(timer);
  }, [workspace.slug]);
  const act: Act = async (what) => {
    try {
      await what();
      setError('');
    } catch (e) {
      setError(errorText(e));
    }
    await load().catch(() => undefined);
  };
  if (!connections) return error ? html`<p class="error" role="alert">${error}</p>` : html`<p class="loading">Loading…</p>`;

  const admin = workspace.role === 'admin';
  const inFlow = flow && connections.find((c) => c.id === flow.id);
  const closeFlow = () =>
    act(async () => {
      // Asked afresh: the list may be a poll old, and a sign-in finished since must not be undone.
      const now = flow?.fresh ? await api<Connection>('GET', `/connections/${flow.id}`).catch(() => null) : null;
      if (now?.state === 'awaiting_auth') await api('DELETE', `/connections/${now.id}`);
      setFlow(null);
    });
  const created = (c: Connection, auth: AuthStep | null) => {
    if (auth) setFlow({ id: c.id, fresh: true });
    setFormKey((k) => k + 1);
    load().catch((e) => setError(errorText(e)));
  };
  const pushes = connections.filter((c) => c.direction === 'push');
  const pulls = connections.filter((c) => c.direction === 'pull');
  const row = { admin, act, flow: flow?.id, setFlow, open, setOpen };
  return html`
    <section class="integrations">
      <h1>Integrations</h1>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${inFlow && html`<${SignInStep} connection=${inFlow} close=${closeFlow} changed=${load} />`}
      <h2>Copies in the cloud</h2>
      <p>Every photo of ${workspace.name} is copied, in its folders, to each service switched on here.</p>
      ${pushes.length === 0
        ? html`<p>No copies yet.</p>`
        : html`<table>
            <thead><tr><th scope="col">Service</th><th scope="col">Folder</th><th scope="col">State</th>
              <th scope="col">Last copied</th><th scope="col">On</th><th scope="col"><span class="hidden">Actions</span></th></tr></thead>
            <tbody>${pushes.map((c) => html`<${PushRow} c=${c} ...${row} />`)}</tbody>
          </table>`}
      <h2>Cloud folders</h2>
      <p>Photos in these folders are brought into ${workspace.name}, keeping their sub-folders. Deleting them in the cloud deletes nothing here.</p>
      ${pulls.length === 0
        ? html`<p>No folders connected.</p>`
        : html`<table>
            <thead><tr><th scope="col">Folder name</th><th scope="col">Service</th><th scope="col">Last synced</th>
              <th scope="col">Synced by</th><th scope="col">Auto sync</th><th scope="col">State</th><th scope="col"><span class="hidden">Actions</span></th></tr></thead>
            <tbody>${pulls.map((c) => html`<${PullRow} c=${c} ...${row} />`)}</tbody>
          </table>`}
      ${open !== null && connections.some((c) => c.id === open) &&
      html`<${Details} c=${connections.find((c) => c.id === open)} admin=${admin} act=${act} close=${() => setOpen(null)} />`}
      ${admin && html`<${ConnectForm} key=${formKey} workspace=${workspace.slug} offers=${offers} created=${created} />`}
    </section>
  `;
}

interface RowProps {
  c: Connection;
  admin: boolean;
  act: Act;
  /** The connection whose sign-in step is showing. */
  flow: number | undefined;
  setFlow: (f: { id: number; fresh: boolean }) => void;
  open: number | null;
  setOpen: (id: number | null) => void;
}

const label = (c: Connection) => `${PROVIDERS[c.provider]} ${folderName(c)}`;

function change(act: Act, c: Connection, changes: Record<string, unknown>) {
  return act(() => api('PATCH', `/connections/${c.id}`, changes));
}

function Switch({ c, field, admin, act, name }: { c: Connection; field: 'enabled' | 'auto_sync'; admin: boolean; act: Act; name: string }) {
  return html`<input type="checkbox" role="switch" class="switch" checked=${c[field]} disabled=${!admin}
    aria-label=${`${name} for ${label(c)}`} onChange=${(e: Event) => change(act, c, { [field]: (e.target as HTMLInputElement).checked })} />`;
}

function Actions({ c, admin, act, flow, setFlow, open, setOpen }: RowProps) {
  const reconnect = () =>
    act(async () => {
      if (c.provider === 's3') return setOpen(c.id);
      await api('POST', `/connections/${c.id}/reconnect`, {});
      setFlow({ id: c.id, fresh: false });
    });
  const remove = () =>
    confirm(`Remove the connection to ${label(c)}? Photos here and copies in the cloud stay.`) &&
    act(() => api('DELETE', `/connections/${c.id}`));
  const needsSignIn = c.state === 'needs_reconnect' || (c.state === 'awaiting_auth' && !c.auth);
  return html`<td class="row-actions">
    <button type="button" class="plain" aria-expanded=${open === c.id} aria-label=${`Details of ${label(c)}`}
      onClick=${() => setOpen(open === c.id ? null : c.id)}>Details</button>
    ${admin && html`
      ${c.state === 'awaiting_auth' && c.auth
        ? flow !== c.id && html`<button type="button" aria-label=${`Finish signing in to ${label(c)}`} onClick=${() => setFlow({ id: c.id, fresh: false })}>Finish sign-in</button>`
        : needsSignIn
          ? html`<button type="button" aria-label=${`Sign in again to ${label(c)}`} onClick=${reconnect}>Sign in</button>`
          : html`<button type="button" aria-label=${`${c.direction === 'pull' ? 'Refresh' : 'Retry now'} ${label(c)}`}
              onClick=${() => act(() => api('POST', `/connections/${c.id}/sync`))}>${c.direction === 'pull' ? 'Refresh' : 'Retry now'}</button>`}
      <button type="button" class="danger" aria-label=${`Remove ${label(c)}`} onClick=${remove}>Remove</button>`}
  </td>`;
}

// Cells carry their column's name, which a phone-width screen shows beside the value when the
// rows turn into cards.
function PushRow(p: RowProps) {
  const c = p.c;
  return html`<tr>
    <td data-label="Service">${PROVIDERS[c.provider]}</td><td data-label="Folder">${folderName(c)}</td>
    <td data-label="State" class=${`state ${c.state}`}>${stateText(c)}</td>
    <td data-label="Last copied">${when(c.last_success_at)}</td>
    <td data-label="On"><${Switch} c=${c} field="enabled" name="Copy photos" admin=${p.admin} act=${p.act} /></td>
    <${Actions} ...${p} />
  </tr>`;
}

function PullRow(p: RowProps) {
  const c = p.c;
  return html`<tr>
    <td data-label="Folder name">${folderName(c)}</td><td data-label="Service">${PROVIDERS[c.provider]}</td>
    <td data-label="Last synced">${when(c.last_success_at)}</td><td data-label="Synced by">${c.created_by ?? '—'}</td>
    <td data-label="Auto sync"><${Switch} c=${c} field="auto_sync" name="Auto sync" admin=${p.admin} act=${p.act} /></td>
    <td data-label="State" class=${`state ${c.state}`}>${stateText(c)}</td>
    <${Actions} ...${p} />
  </tr>`;
}

/** The choices, with the connection's own interval when it was set to another through the API. */
function intervals(current: number): [number, string][] {
  return INTERVALS.some(([secs]) => secs === current)
    ? INTERVALS
    : [...INTERVALS, [current, `every ${Math.round(current / 60)} minutes`]].sort((a, b) => Number(a[0]) - Number(b[0])) as [number, string][];
}

function Details({ c, admin, act, close }: { c: Connection; admin: boolean; act: Act; close: () => void }) {
  const pull = c.direction === 'pull';
  const reconnectS3 = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    await act(() => api('POST', `/connections/${c.id}/reconnect`, { access_key: form.get('access_key'), secret_key: form.get('secret_key') }));
  };
  return html`<section class="details" aria-label=${`Details of ${label(c)}`}>
    <h2>${label(c)}</h2>
    <dl>
      <dt>Direction</dt><dd>${pull ? `Brought into “${c.local_prefix || 'the workspace root'}”` : 'Copied to the cloud'}</dd>
      <dt>State</dt><dd>${stateText(c)}</dd>
      ${c.last_error && html`<dt>Last error</dt><dd>${c.last_error}</dd>`}
      <dt>Last attempt</dt><dd>${when(c.last_sync_at)}</dd>
      <dt>Last success</dt><dd>${when(c.last_success_at)}</dd>
      <dt>Connected by</dt><dd>${c.created_by ?? '—'} on ${when(c.created_at)}</dd>
      ${pull
        ? html`<dt>Brought in</dt><dd>${`${c.pulled.imported} new, ${c.pulled.already_there} already here, ${c.pulled.not_media} not photos, ${c.pulled.deleted_locally} deleted here before`}</dd>
            ${c.progress && html`<dt>This sync</dt><dd>${c.progress.done} of ${c.progress.listed} listed so far</dd>`}`
        : html`<dt>Waiting</dt><dd>${c.queue.queued}${c.queue.failing ? `, ${c.queue.failing} failed at least once (next try ${when(c.queue.next_retry_at)})` : ''}</dd>`}
    </dl>
    ${admin && html`<div class="settings">
      <label class="check"><input type="checkbox" checked=${c.enabled}
        onChange=${(e: Event) => change(act, c, { enabled: (e.target as HTMLInputElement).checked })} /> On (off pauses, keeping what waits)</label>
      ${pull
        ? html`<label>How often <select value=${c.interval_secs}
            onChange=${(e: Event) => change(act, c, { interval_secs: Number((e.target as HTMLSelectElement).value) })}>
            ${intervals(c.interval_secs).map(([secs, text]) => html`<option value=${secs}>${text}</option>`)}</select></label>`
        : html`<label class="check"><input type="checkbox" checked=${c.mirror_deletes}
            onChange=${(e: Event) => change(act, c, { mirror_deletes: (e.target as HTMLInputElement).checked })} /> Delete the cloud copy when a photo is deleted here</label>`}
      ${c.provider === 's3' &&
      html`<form onSubmit=${reconnectS3} aria-label="New keys">
        <label>Access key <input name="access_key" required autocomplete="off" /></label>
        <label>Secret key <input name="secret_key" type="password" required autocomplete="new-password" /></label>
        <button type="submit">Use these keys</button>
      </form>`}
    </div>`}
    <button type="button" class="plain" onClick=${close}>Close details</button>
  </section>`;
}
