// The network policy: which networks may use the box at all, and which may upload (and from which
// Wi-Fi names). The box refuses a policy that would lock out the admin changing it.
import { useEffect, useState } from 'preact/hooks';

import { api } from '../api';
import { html, useForm } from '../ui';

interface Policy {
  upload: { allowed_networks: string[]; allowed_ssids: string[]; require_ssid: boolean };
  access: { allowed_networks: string[] };
  source: 'config' | 'api';
}

const lines = (text: FormDataEntryValue | null) =>
  String(text ?? '').split(/[\n,]/).map((l) => l.trim()).filter(Boolean);

export function Network() {
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    api<Policy>('GET', '/policy/network').then(setPolicy);
  }, []);
  const [error, save] = useForm(async (form) => {
    const next = {
      access: { allowed_networks: lines(form.get('access')) },
      upload: {
        allowed_networks: lines(form.get('upload')),
        allowed_ssids: lines(form.get('ssids')),
        require_ssid: form.get('require_ssid') === 'on',
      },
    };
    setPolicy(await api<Policy>('PUT', '/policy/network', next));
    setSaved(true);
  });
  if (!policy) return html`<p class="loading">Loading…</p>`;
  return html`
    <section>
      <h1>Network</h1>
      <p>${policy.source === 'api' ? 'Set here (it overrides the configuration file).' : 'From the configuration file.'}</p>
      <form onSubmit=${save}>
        <label>Networks that may use the box (one per line)
          <textarea name="access" rows="4">${policy.access.allowed_networks.join('\n')}</textarea></label>
        <label>Networks that may upload
          <textarea name="upload" rows="4">${policy.upload.allowed_networks.join('\n')}</textarea></label>
        <label>Wi-Fi names uploads may come from (empty: any)
          <textarea name="ssids" rows="2">${policy.upload.allowed_ssids.join('\n')}</textarea></label>
        <label class="check"><input type="checkbox" name="require_ssid" checked=${policy.upload.require_ssid} />
          Refuse uploads from apps that do not say their Wi-Fi</label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${saved && html`<p class="saved" role="status">Saved.</p>`}
        <button type="submit">Save the policy</button>
      </form>
    </section>
  `;
}
