// One photo: a larger view, what the box knows about it, its title and tags to edit, the original
// to download, and delete.
import { useEffect, useState } from 'preact/hooks';

import { api, Asset } from '../api';
import { bytes, go, html, useForm } from '../ui';

export function Photo({ id, role }: { id: number; role?: string }) {
  const [asset, setAsset] = useState<Asset | null>(null);
  const [missing, setMissing] = useState('');
  const [saved, setSaved] = useState(false);
  const [error, save] = useForm(async (form) => {
    const title = String(form.get('title')).trim();
    const tags = String(form.get('tags')).split(',').map((t) => t.trim()).filter(Boolean);
    setAsset(await api<Asset>('PATCH', `/assets/${id}`, { title: title || null, tags }));
    setSaved(true);
  });
  useEffect(() => {
    api<Asset>('GET', `/assets/${id}`).then(setAsset, (e) => setMissing(e.message));
  }, [id]);
  if (missing) return html`<p class="error" role="alert">${missing}</p>`;
  if (!asset) return html`<p class="loading">Loading…</p>`;

  const canEdit = role === 'editor' || role === 'admin';
  const remove = async () => {
    if (!confirm(`Delete ${asset.original_name}? A phone will not upload it again.`)) return;
    await api('DELETE', `/assets/${id}`);
    go('/library');
  };
  return html`
    <article class="photo">
      <a href="#/library">← Library</a>
      <img class="preview" src=${`/api/v1/assets/${id}/thumbnail?size=1024`} alt=${asset.title ?? asset.original_name} />
      <dl>
        <dt>Taken</dt><dd>${asset.taken_at.replace('T', ' ')}</dd>
        <dt>File</dt><dd>${asset.original_name} (${bytes(asset.size)}, ${asset.media_type})</dd>
        <dt>Where</dt><dd>${asset.path}</dd>
        ${asset.device && html`<dt>Device</dt><dd>${asset.device}</dd>`}
      </dl>
      <form onSubmit=${save}>
        <label>Title <input name="title" value=${asset.title ?? ''} disabled=${!canEdit} /></label>
        <label>Tags <input name="tags" value=${asset.tags.join(', ')} disabled=${!canEdit} aria-describedby="tags-help" /></label>
        <small id="tags-help">Separate tags with commas.</small>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${saved && html`<p class="saved" role="status">Saved.</p>`}
        ${canEdit && html`<button type="submit">Save</button>`}
      </form>
      <p class="actions">
        <a class="button" href=${`/api/v1/assets/${id}/original`} download=${asset.original_name}>Download original</a>
        ${canEdit && html`<button type="button" class="danger" onClick=${remove}>Delete</button>`}
      </p>
    </article>
  `;
}
