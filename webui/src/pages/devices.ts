// Device tokens: app passwords for phones and backup apps, shown once, listed with their last use.
import { useEffect, useState } from 'preact/hooks';

import { api } from '../api';
import { html, useForm } from '../ui';

interface Token {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export function Devices() {
  const [tokens, setTokens] = useState<Token[]>([]);
  const [shown, setShown] = useState<{ name: string; token: string } | null>(null);
  const load = () => api<Token[]>('GET', '/tokens').then(setTokens);
  useEffect(() => {
    load();
  }, []);
  const [error, create] = useForm(async (form) => {
    const made = await api<{ name: string; token: string }>('POST', '/tokens', { name: String(form.get('name')).trim() });
    setShown(made);
    (document.getElementById('new-device') as HTMLFormElement | null)?.reset();
    await load();
  });
  const revoke = async (t: Token) => {
    if (!confirm(`Revoke ${t.name}? That device will have to sign in again.`)) return;
    await api('DELETE', `/tokens/${t.id}`);
    await load();
  };
  return html`
    <section>
      <h1>Devices</h1>
      <p>Give each phone or backup app a token of its own; revoke it when the device is lost.</p>
      ${tokens.length === 0
        ? html`<p>No device tokens.</p>`
        : html`<table>
            <thead><tr><th scope="col">Device</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="hidden">Actions</span></th></tr></thead>
            <tbody>${tokens.map(
              (t) => html`<tr><td>${t.name}</td><td>${t.created_at}</td><td>${t.last_used_at ?? 'never'}</td>
                <td><button type="button" class="danger" aria-label=${`Revoke ${t.name}`} onClick=${() => revoke(t)}>Revoke</button></td></tr>`,
            )}</tbody>
          </table>`}
      ${shown &&
      html`<p role="status" class="token">Token for ${shown.name} (shown once): <code>${shown.token}</code></p>`}
      <form id="new-device" onSubmit=${create} aria-label="New device token">
        <label>Device name <input name="name" required maxlength="100" /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit">Create token</button>
      </form>
    </section>
  `;
}
