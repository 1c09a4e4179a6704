// A workspace's members and their roles, for the workspace's admins.
import { useEffect, useState } from 'preact/hooks';

import { api, Me, WorkspaceRole } from '../api';
import { errorText, html, useForm } from '../ui';
import { ROLE_HELP, ROLES } from './users';

interface Member {
  user_id: number;
  username: string;
  role: WorkspaceRole['role'];
}

export function Members({ workspace, me }: { workspace: WorkspaceRole; me: Me }) {
  const [members, setMembers] = useState<Member[]>([]);
  const [others, setOthers] = useState<string[]>([]);
  const [done, setDone] = useState('');
  const [failed, setFailed] = useState('');
  const base = `/workspaces/${encodeURIComponent(workspace.slug)}/members`;
  const admin = workspace.role === 'admin';
  const load = async () => {
    const list = await api<Member[]>('GET', base);
    setMembers(list);
    // Server admins may list the users, so the name field can offer those who are not members yet.
    if (me.user.is_admin) {
      const users = await api<{ username: string; is_admin: boolean; disabled: boolean }[]>('GET', '/users');
      const inside = new Set(list.map((m) => m.username));
      setOthers(users.filter((u) => !u.is_admin && !u.disabled && !inside.has(u.username)).map((u) => u.username));
    }
  };
  useEffect(() => {
    setDone('');
    setFailed('');
    if (admin) load().catch((e) => setFailed(e.message));
  }, [workspace.slug]);

  /** A change to the caller's own membership may take this page away from them: start again. */
  const run = async (m: Member, change: () => Promise<string>) => {
    try {
      const said = await change();
      if (m.user_id === me.user.id && !me.user.is_admin) return location.reload();
      setDone(said);
      setFailed('');
    } catch (e) {
      setDone('');
      setFailed(errorText(e));
    }
    await load().catch(() => undefined);
  };
  const setRole = (m: Member, role: string) =>
    run(m, async () => {
      await api('PUT', `${base}/${m.user_id}`, { role });
      return `${m.username} is now ${role === 'admin' || role === 'editor' ? 'an' : 'a'} ${role} of ${workspace.name}.`;
    });
  const remove = (m: Member) => {
    const self = m.user_id === me.user.id;
    const question = self
      ? `Leave ${workspace.name}? You will no longer see it.`
      : `Remove ${m.username} from ${workspace.name}? Their photos stay.`;
    if (!confirm(question)) return;
    run(m, async () => {
      await api('DELETE', `${base}/${m.user_id}`);
      return `${m.username} is no longer a member of ${workspace.name}.`;
    });
  };
  const [addError, add] = useForm(async (form) => {
    const username = String(form.get('username')).trim();
    const role = String(form.get('role'));
    await api('POST', base, { username, role });
    const input = (document.getElementById('new-member') as HTMLFormElement | null)?.elements.namedItem('username');
    if (input instanceof HTMLInputElement) input.value = '';
    setDone(`${username} is now a member of ${workspace.name}.`);
    setFailed('');
    await load();
  });

  if (!admin) return html`<section><h1>Members</h1><p>Only the admins of ${workspace.name} manage its members.</p></section>`;
  return html`
    <section class="members">
      <h1>Members of ${workspace.name}</h1>
      <p>${ROLE_HELP} Server admins are admins of every workspace without being listed.</p>
      ${members.length === 0
        ? html`<p>No members yet.</p>`
        : html`<table>
            <thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col"><span class="hidden">Actions</span></th></tr></thead>
            <tbody>${members.map(
              (m) => html`<tr><td>${m.username}</td>
                <td><select aria-label=${`Role of ${m.username}`} value=${m.role}
                  onChange=${(e: Event) => setRole(m, (e.target as HTMLSelectElement).value)}>
                  ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}
                </select></td>
                <td><button type="button" class="danger" aria-label=${`Remove ${m.username} from ${workspace.name}`} onClick=${() => remove(m)}>Remove</button></td></tr>`,
            )}</tbody>
          </table>`}
      ${failed && html`<p class="error" role="alert">${failed}</p>`}
      ${done && html`<p class="saved" role="status">${done}</p>`}
      <form id="new-member" onSubmit=${add} aria-label="Add a member">
        <h2>Add a member</h2>
        <label>User name <input name="username" required maxlength="64" autocomplete="off" list="member-candidates" /></label>
        <datalist id="member-candidates">${others.map((u) => html`<option value=${u} />`)}</datalist>
        <label class="role"><span>Role</span>
          <select name="role">${ROLES.map((r) => html`<option value=${r} selected=${r === 'contributor'}>${r}</option>`)}</select></label>
        ${addError && html`<p class="error" role="alert">${addError}</p>`}
        <button type="submit">Add member</button>
      </form>
    </section>
  `;
}
