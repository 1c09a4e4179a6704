// Users and their access: the accounts (server admins), and access links, which sign a browser in
// as a user without a password. Everyone may manage their own link.
import { useEffect, useRef, useState } from 'preact/hooks';

import { api, Me, User } from '../api';
import { errorText, html, useForm, when } from '../ui';

export const ROLES = ['viewer', 'contributor', 'editor', 'admin'] as const;
export const ROLE_HELP =
  'Viewers see the photos; contributors also upload; editors also edit and delete; admins also manage members and events.';

interface LinkInfo {
  created_at: string;
  last_used_at: string | null;
}

interface Account extends User {
  disabled: boolean;
  created_at: string;
  workspaces: { slug: string; role: string }[];
  access_link: LinkInfo | null;
}


/** A link just made: shown this once, with a button that copies it. */
function LinkShown({ who, url }: { who: string; url: string }) {
  const [copied, setCopied] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const full = location.origin + url;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(full);
      setCopied('Copied.');
    } catch {
      // No clipboard API outside HTTPS (a box on the LAN): select the text and copy the old way.
      input.current?.select();
      setCopied(document.execCommand('copy') ? 'Copied.' : 'Select the link and copy it.');
    }
  };
  return html`
    <div class="link-shown" role="status">
      <p>Access link for ${who}, shown this once. Whoever opens it is signed in as ${who} until it is revoked.</p>
      <div class="copy">
        <input ref=${input} readonly value=${full} aria-label=${`Access link for ${who}`}
          onFocus=${(e: Event) => (e.target as HTMLInputElement).select()} />
        <button type="button" onClick=${copy} aria-label=${`Copy the access link for ${who}`}>Copy</button>
      </div>
      ${copied && html`<p>${copied}</p>`}
    </div>
  `;
}

/** A user's own access link: for those who are not server admins (admins manage links on Users). */
export function MyAccess({ me }: { me: Me }) {
  const id = me.user.id;
  const [link, setLink] = useState<(LinkInfo & { active: boolean }) | null>(null);
  const [shown, setShown] = useState<string | null>(null);
  const [error, setError] = useState('');
  const load = () => api<LinkInfo & { active: boolean }>('GET', `/users/${id}/access-link`).then(setLink, (e) => setError(errorText(e)));
  useEffect(() => {
    load();
  }, [id]);
  const run = async (change: () => Promise<void>) => {
    try {
      await change();
      setError('');
    } catch (e) {
      setError(errorText(e));
    }
    await load();
  };
  const create = () =>
    run(async () => {
      if (link?.active && !confirm('Replace your access link? The old one stops working.')) return;
      setShown((await api<{ url: string }>('POST', `/users/${id}/access-link`)).url);
    });
  const revoke = () =>
    run(async () => {
      if (!confirm('Revoke your access link? Browsers it signed in are signed out.')) return;
      await api('DELETE', `/users/${id}/access-link`);
      setShown(null);
    });
  return html`
    <section>
      <h1>Access link</h1>
      <p>An access link signs a browser in as you without your password: for a tablet on the wall or a
        relative's laptop. Anyone who has it can get in as you, so revoke it when it is no longer needed.</p>
      ${link &&
      html`<p>${link.active
        ? `You have an access link, made ${when(link.created_at)}, last opened ${when(link.last_used_at)}.`
        : 'You have no access link.'}</p>`}
      ${shown && html`<${LinkShown} who=${me.user.username} url=${shown} />`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions">
        <button type="button" onClick=${create}>${link?.active ? 'Replace the access link' : 'Create an access link'}</button>
        ${link?.active && html`<button type="button" class="danger" onClick=${revoke}>Revoke the access link</button>`}
      </div>
    </section>
  `;
}

/** Server admins: every account, with its workspaces and access link, and a form for a new one. */
export function Users({ me }: { me: Me }) {
  const [users, setUsers] = useState<Account[]>([]);
  const [shown, setShown] = useState<{ who: string; url: string } | null>(null);
  const [done, setDone] = useState('');
  const [failed, setFailed] = useState('');
  const [resetting, setResetting] = useState<Account | null>(null);
  const passwordInput = useRef<HTMLInputElement>(null);
  const names = Object.fromEntries(me.workspaces.map((w) => [w.slug, w.name]));
  const load = () => api<Account[]>('GET', '/users').then(setUsers, (e) => setFailed(errorText(e)));
  useEffect(() => {
    load();
  }, []);
  useEffect(() => passwordInput.current?.focus(), [resetting]);

  /** Runs an action on a user's row, saying what happened (or what went wrong), then reloads. */
  const act = async (change: () => Promise<string | void>) => {
    try {
      const said = await change();
      if (said !== undefined) setDone(said);
      setFailed('');
    } catch (e) {
      setDone('');
      setFailed(errorText(e));
    }
    await load();
  };
  const makeLink = (u: Account) =>
    act(async () => {
      if (u.access_link && !confirm(`Replace ${u.username}'s access link? The old one stops working.`)) return;
      const { url } = await api<{ url: string }>('POST', `/users/${u.id}/access-link`);
      setShown({ who: u.username, url });
      return '';
    });
  const revokeLink = (u: Account) =>
    act(async () => {
      if (!confirm(`Revoke ${u.username}'s access link? Browsers it signed in are signed out.`)) return;
      await api('DELETE', `/users/${u.id}/access-link`);
      if (shown?.who === u.username) setShown(null);
      return `${u.username}'s access link is revoked.`;
    });
  const setDisabled = (u: Account, disabled: boolean) =>
    act(async () => {
      if (disabled && !confirm(`Disable ${u.username}? They are signed out everywhere and cannot sign in until enabled again.`))
        return;
      await api('PATCH', `/users/${u.id}`, { disabled });
      return `${u.username} is ${disabled ? 'disabled' : 'enabled'}.`;
    });

  const [resetError, reset] = useForm(async (form) => {
    if (!resetting) return;
    await api('PATCH', `/users/${resetting.id}`, { password: String(form.get('password')) });
    // A new password signs the user out everywhere: that includes this browser when it is the admin's own.
    if (resetting.id === me.user.id) return location.reload();
    setDone(`${resetting.username}'s password is changed; they are signed out everywhere.`);
    setResetting(null);
  });

  const [createError, create] = useForm(async (form) => {
    const workspaces = me.workspaces
      .map((w) => ({ slug: w.slug, role: String(form.get(`ws:${w.slug}`) ?? '') }))
      .filter((w) => w.role);
    const username = String(form.get('username')).trim();
    await api('POST', '/users', {
      username,
      password: String(form.get('password')),
      is_admin: form.get('is_admin') === 'on',
      workspaces,
    });
    // Clears the name and password; the roles chosen stay for the next person.
    const made = document.getElementById('new-user') as HTMLFormElement | null;
    for (const name of ['username', 'password']) {
      const input = made?.elements.namedItem(name);
      if (input instanceof HTMLInputElement) input.value = '';
    }
    setDone(`${username} can sign in now.`);
    await load();
  });

  const memberships = (u: Account) =>
    u.is_admin
      ? 'Admin of every workspace'
      : u.workspaces.map((w) => `${names[w.slug] ?? w.slug}: ${w.role}`).join(', ') || 'No workspace';
  return html`
    <section class="users">
      <h1>Users</h1>
      <p><a href="#/members">Members and roles of a workspace</a> are on the Members page.</p>
      <table class="stack">
        <thead><tr><th scope="col">User</th><th scope="col">Workspaces</th><th scope="col">Access link</th><th scope="col"><span class="hidden">Actions</span></th></tr></thead>
        <tbody>${users.map(
          (u) => html`<tr class=${u.disabled ? 'disabled' : undefined}>
            <td><strong>${u.username}</strong>${u.is_admin && html` <span class="badge">server admin</span>`}${u.disabled && html` <span class="badge off">disabled</span>`}${u.id === me.user.id && html` <span class="badge">you</span>`}</td>
            <td>${memberships(u)}</td>
            <td>${u.access_link ? `Link made ${when(u.access_link.created_at)}, last opened ${when(u.access_link.last_used_at)}` : 'No access link'}</td>
            <td><div class="actions">
              ${!u.disabled && html`<button type="button" aria-label=${`${u.access_link ? 'New' : 'Create'} access link for ${u.username}`} onClick=${() => makeLink(u)}>${u.access_link ? 'New' : 'Create'} access link</button>`}
              ${u.access_link && html`<button type="button" class="danger" aria-label=${`Revoke access link of ${u.username}`} onClick=${() => revokeLink(u)}>Revoke access link</button>`}
              <button type="button" aria-label=${`Reset password of ${u.username}`} onClick=${() => setResetting(u)}>Reset password</button>
              ${u.id !== me.user.id &&
              (u.disabled
                ? html`<button type="button" aria-label=${`Enable ${u.username}`} onClick=${() => setDisabled(u, false)}>Enable</button>`
                : html`<button type="button" class="danger" aria-label=${`Disable ${u.username}`} onClick=${() => setDisabled(u, true)}>Disable</button>`)}
            </div></td></tr>`,
        )}</tbody>
      </table>
      ${failed && html`<p class="error" role="alert">${failed}</p>`}
      ${done && html`<p class="saved" role="status">${done}</p>`}
      ${shown && html`<${LinkShown} who=${shown.who} url=${shown.url} />`}
      ${resetting &&
      html`<form onSubmit=${reset} aria-label=${`New password for ${resetting.username}`}>
        <h2>New password for ${resetting.username}</h2>
        <label>New password <input ref=${passwordInput} name="password" type="password" required minlength="8" autocomplete="new-password" /></label>
        <small>${resetting.id === me.user.id ? 'You will be signed out, here too.' : `${resetting.username} is signed out everywhere.`}</small>
        ${resetError && html`<p class="error" role="alert">${resetError}</p>`}
        <div class="actions">
          <button type="submit">Set the password</button>
          <button type="button" class="plain" onClick=${() => setResetting(null)}>Cancel</button>
        </div>
      </form>`}
      <form id="new-user" onSubmit=${create} aria-label="New user">
        <h2>New user</h2>
        <label>User name <input name="username" required maxlength="64" autocomplete="off" /></label>
        <label>Password <input name="password" type="password" required minlength="8" autocomplete="new-password" /></label>
        <label class="check"><input type="checkbox" name="is_admin" /> Server admin: manages users, the network and every workspace</label>
        <fieldset>
          <legend>Role in each workspace</legend>
          ${me.workspaces.map(
            (w) => html`<label class="role"><span>${w.name}</span>
              <select name=${`ws:${w.slug}`}>
                <option value="">not a member</option>
                ${ROLES.map((r) => html`<option value=${r} selected=${w.slug === 'default' && r === 'contributor'}>${r}</option>`)}
              </select></label>`,
          )}
          <small>${ROLE_HELP}</small>
        </fieldset>
        ${createError && html`<p class="error" role="alert">${createError}</p>`}
        <button type="submit">Create user</button>
      </form>
    </section>
  `;
}
