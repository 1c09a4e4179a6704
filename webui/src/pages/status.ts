// The device: disk, library, uploads, MQTT and the cloud connections' queues.
import { useEffect, useState } from 'preact/hooks';

import { api } from '../api';
import { bytes, html } from '../ui';

interface Status {
  version: string;
  uptime_secs: number;
  disk: { total_bytes: number; free_bytes: number };
  library: { bytes: number; photos: number; last_upload_at: string | null; workspaces: { slug: string; photos: number }[] };
  uploads_in_progress: number;
  refused_uploads: number;
  mqtt: { state: string; error: string | null } | null;
  queue_depth: number;
  connections: { id: number; workspace: string; direction: string; provider: string; remote_folder: string; state: string; queue_depth: number; last_sync_at: string | null; last_error: string | null }[];
}

export function Status() {
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const load = () => api<Status>('GET', '/status').then(setStatus, (e) => setError(e.message));
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!status) return html`<p class="loading">Loading…</p>`;
  const used = status.disk.total_bytes - status.disk.free_bytes;
  return html`
    <section class="status">
      <h1>Device status</h1>
      <dl>
        <dt>Disk</dt>
        <dd><meter min="0" max=${status.disk.total_bytes} value=${used} aria-label="Disk used"></meter>
          ${bytes(status.disk.free_bytes)} free of ${bytes(status.disk.total_bytes)}</dd>
        <dt>Library</dt><dd>${status.library.photos} photos, ${bytes(status.library.bytes)}</dd>
        <dt>Last upload</dt><dd>${status.library.last_upload_at ?? 'none yet'}</dd>
        <dt>Uploads in progress</dt><dd>${status.uploads_in_progress}</dd>
        <dt>Refused uploads</dt><dd>${status.refused_uploads}</dd>
        <dt>Replications waiting</dt><dd>${status.queue_depth}</dd>
        <dt>MQTT</dt><dd>${status.mqtt ? `${status.mqtt.state}${status.mqtt.error ? `: ${status.mqtt.error}` : ''}` : 'off'}</dd>
        <dt>Version</dt><dd>${status.version}, up ${Math.round(status.uptime_secs / 60)} min</dd>
      </dl>
      <h2>Cloud connections</h2>
      ${status.connections.length === 0
        ? html`<p>None.</p>`
        : html`<table>
            <thead><tr><th scope="col">Workspace</th><th scope="col">Direction</th><th scope="col">Provider</th><th scope="col">Folder</th><th scope="col">State</th><th scope="col">Waiting</th><th scope="col">Last synced</th></tr></thead>
            <tbody>${status.connections.map(
              (c) => html`<tr><td>${c.workspace}</td><td>${c.direction}</td><td>${c.provider}</td><td>${c.remote_folder}</td>
                <td title=${c.last_error ?? ''}>${c.state}</td><td>${c.queue_depth}</td><td>${c.last_sync_at ?? 'never'}</td></tr>`,
            )}</tbody>
          </table>`}
    </section>
  `;
}
