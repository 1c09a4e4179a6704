// A workspace's events: a title, tags and a time span. Photos taken inside the span get them.
import { useEffect, useState } from 'preact/hooks';

import { api, WorkspaceRole } from '../api';
import { html, useForm } from '../ui';

interface Event {
  id: number;
  title: string;
  tags: string[];
  starts_at: string;
  ends_at: string;
}

/** `datetime-local` gives minutes; the box wants seconds. */
const seconds = (local: string) => (local.length === 16 ? `${local}:00` : local);

export function Events({ workspace }: { workspace: WorkspaceRole }) {
  const [events, setEvents] = useState<Event[]>([]);
  const path = `/events?workspace=${encodeURIComponent(workspace.slug)}`;
  const load = () => api<Event[]>('GET', path).then(setEvents);
  useEffect(() => {
    load();
  }, [workspace.slug]);
  const [error, create] = useForm(async (form) => {
    await api('POST', path, {
      title: String(form.get('title')).trim(),
      tags: String(form.get('tags')).split(',').map((t) => t.trim()).filter(Boolean),
      starts_at: seconds(String(form.get('starts_at'))),
      ends_at: seconds(String(form.get('ends_at'))),
    });
    await load();
  });
  const remove = async (id: number) => {
    await api('DELETE', `/events/${id}`);
    await load();
  };
  const admin = workspace.role === 'admin';
  return html`
    <section>
      <h1>Events</h1>
      ${events.length === 0
        ? html`<p>No events yet.</p>`
        : html`<table>
            <thead><tr><th scope="col">Title</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Tags</th>${admin && html`<th scope="col"><span class="hidden">Actions</span></th>`}</tr></thead>
            <tbody>${events.map(
              (e) => html`<tr><td>${e.title}</td><td>${e.starts_at.replace('T', ' ')}</td><td>${e.ends_at.replace('T', ' ')}</td><td>${e.tags.join(', ')}</td>
                ${admin && html`<td><button type="button" class="danger" aria-label=${`Delete ${e.title}`} onClick=${() => remove(e.id)}>Delete</button></td>`}</tr>`,
            )}</tbody>
          </table>`}
      ${admin &&
      html`<form onSubmit=${create} aria-label="New event">
        <h2>New event</h2>
        <label>Title <input name="title" required /></label>
        <label>Starts <input name="starts_at" type="datetime-local" step="1" required /></label>
        <label>Ends <input name="ends_at" type="datetime-local" step="1" required /></label>
        <label>Tags <input name="tags" aria-describedby="event-tags-help" /></label>
        <small id="event-tags-help">Separate tags with commas. Photos taken during the event get them.</small>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit">Create event</button>
      </form>`}
    </section>
  `;
}
