// Adding a connection: which way, which service, which folder, and what that service needs (keys
// for S3, a site for SharePoint). Services the box has no app registration for are shown but not
// offered, with the setting that would enable them.
import { useState } from 'preact/hooks';

import { api } from '../api';
import { AuthStep, Connection, Direction, INTERVALS, Offer, Provider, PROVIDERS } from '../connections';
import { html, useForm } from '../ui';

interface Props {
  workspace: string;
  offers: Offer[];
  /** The new connection and the sign-in step it started (none for S3). */
  created: (connection: Connection, auth: AuthStep | null) => void;
}

const text = (form: FormData, name: string) => String(form.get(name) ?? '').trim();

function body(form: FormData, direction: Direction, provider: Provider) {
  const options: Record<string, unknown> = {};
  const keys: Record<string, string> = {};
  if (provider === 's3') {
    options.s3 = {
      endpoint: text(form, 'endpoint'),
      bucket: text(form, 'bucket'),
      region: text(form, 'region') || 'us-east-1',
      path_style: form.get('path_style') === 'on',
    };
    keys.access_key = text(form, 'access_key');
    keys.secret_key = String(form.get('secret_key') ?? '');
  }
  if (provider === 'sharepoint') {
    options.site = text(form, 'site');
    if (text(form, 'library')) options.library = text(form, 'library');
  }
  const common = { direction, provider, remote_folder: text(form, 'remote_folder'), options, ...keys };
  return direction === 'push'
    ? { ...common, mirror_deletes: form.get('mirror_deletes') === 'on' }
    : {
        ...common,
        local_prefix: text(form, 'local_prefix'),
        auto_sync: form.get('auto_sync') === 'on',
        interval_secs: Number(form.get('interval_secs')),
      };
}

export function ConnectForm({ workspace, offers, created }: Props) {
  const [direction, setDirection] = useState<Direction>('push');
  const usable = offers.filter((o) => o.configured);
  const [provider, setProvider] = useState<Provider | undefined>(usable[0]?.provider);
  const chosen = offers.find((o) => o.provider === provider && o.configured) ?? usable[0];
  const [error, submit] = useForm(async (form) => {
    if (!chosen) return;
    const made = await api<{ connection: Connection; auth: AuthStep | null }>(
      'POST',
      `/workspaces/${encodeURIComponent(workspace)}/connections`,
      body(form, direction, chosen.provider),
    );
    created(made.connection, made.auth);
  });
  const pick = (e: Event) => setProvider((e.target as HTMLSelectElement).value as Provider);
  const way = (d: Direction, label: string) =>
    html`<label class="check"><input type="radio" name="direction" value=${d} checked=${direction === d}
      onChange=${() => setDirection(d)} /> ${label}</label>`;
  const signIn = chosen?.[direction];
  return html`
    <form onSubmit=${submit} aria-label="New connection">
      <h2>Connect a service</h2>
      <fieldset>
        <legend>What should happen</legend>
        ${way('push', 'Copy every photo of this workspace to the cloud')}
        ${way('pull', 'Bring the photos of a cloud folder into this workspace')}
      </fieldset>
      <label>Service
        <select name="provider" value=${chosen?.provider} onChange=${pick} required>
          ${offers.map(
            (o) => html`<option value=${o.provider} disabled=${!o.configured}>
              ${PROVIDERS[o.provider]}${o.configured ? '' : ` (not set up: [sync.${o.setting}] client_id)`}</option>`,
          )}
        </select>
      </label>
      ${usable.length === 0 &&
      html`<p class="error">No service is set up on this box. S3 needs nothing; the others need an app registration in the configuration file.</p>`}
      <label>Folder in ${chosen ? PROVIDERS[chosen.provider] : 'the cloud'}
        <input name="remote_folder" placeholder=${direction === 'push' ? 'Shoebox/Family' : 'Photos/Holidays'}
          aria-describedby="folder-help" /></label>
      <small id="folder-help">${direction === 'push'
        ? 'Made if missing; photos keep the folders they have on the box.'
        : 'Empty for everything. Its sub-folders are kept.'}</small>
      ${chosen?.provider === 's3' &&
      html`<fieldset><legend>Bucket</legend>
        <label>Endpoint <input name="endpoint" type="url" required placeholder="https://s3.eu-central-1.amazonaws.com" /></label>
        <label>Bucket <input name="bucket" required /></label>
        <label>Region <input name="region" placeholder="us-east-1" /></label>
        <label class="check"><input type="checkbox" name="path_style" checked /> Path-style addresses (MinIO, Garage and most servers other than AWS)</label>
        <label>Access key <input name="access_key" required autocomplete="off" /></label>
        <label>Secret key <input name="secret_key" type="password" required autocomplete="new-password" /></label>
      </fieldset>`}
      ${chosen?.provider === 'sharepoint' &&
      html`<label>Site <input name="site" required placeholder="contoso.sharepoint.com:/sites/Family" /></label>
        <label>Document library <input name="library" placeholder="Documents" /></label>`}
      ${direction === 'push'
        ? html`<label class="check"><input type="checkbox" name="mirror_deletes" /> Also delete the cloud copy when a photo is deleted here</label>`
        : html`<label>Into the folder <input name="local_prefix" placeholder="From the cloud" /></label>
            <label class="check"><input type="checkbox" name="auto_sync" checked /> Sync on its own</label>
            <label>How often <select name="interval_secs">
              ${INTERVALS.map(([secs, label]) => html`<option value=${secs} selected=${secs === 300}>${label}</option>`)}
            </select></label>`}
      ${signIn === 'device' && html`<small>Next you get a code to enter at ${PROVIDERS[chosen!.provider]}'s page.</small>`}
      ${signIn === 'paste_code' && html`<small>Next you open ${PROVIDERS[chosen!.provider]}'s page and paste back the code it gives.</small>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${!chosen}>Connect</button>
    </form>
  `;
}
