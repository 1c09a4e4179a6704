// The app shell: who is signed in, which workspace is shown, and which page the hash names.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { api, ApiError, Me, setCsrf } from './api';
import { html } from './ui';
import { Setup } from './pages/setup';
import { Login } from './pages/login';
import { Library } from './pages/library';
import { Photo } from './pages/photo';
import { Status } from './pages/status';
import { Events } from './pages/events';
import { Devices } from './pages/devices';
import { Network } from './pages/network';
import { Integrations } from './pages/integrations';
import { ApiKey } from './pages/api-key';
import { MyAccess, Users } from './pages/users';
import { Members } from './pages/members';
import './style.css';

function useHash(): string {
  const [hash, setHash] = useState(location.hash.slice(1) || '/library');
  useEffect(() => {
    const on = () => setHash(location.hash.slice(1) || '/library');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

/** Pages about the user or the box rather than a workspace: they work for someone in none. */
const OUTSIDE_WORKSPACES = ['devices', 'network', 'status', 'users', 'access'];

type Session =
  | { kind: 'loading' }
  | { kind: 'api-key'; wrong: boolean }
  | { kind: 'setup' }
  | { kind: 'signed-out' }
  | { kind: 'in'; me: Me };

function App() {
  const [session, setSession] = useState<Session>({ kind: 'loading' });
  const [workspace, setWorkspace] = useState(localStorage.getItem('shoebox.workspace') ?? 'default');
  const hash = useHash();

  const refresh = async () => {
    try {
      const setup = await api<{ setup_required: boolean }>('GET', '/setup');
      if (setup.setup_required) return setSession({ kind: 'setup' });
      const me = await api<Me>('GET', '/auth/me');
      if (me.csrf_token) setCsrf(me.csrf_token);
      setSession({ kind: 'in', me });
    } catch (e) {
      if (e instanceof ApiError && e.code === 'api_key_required') {
        setSession((s) => ({ kind: 'api-key', wrong: s.kind === 'api-key' }));
      } else if (e instanceof ApiError && e.status === 401) setSession({ kind: 'signed-out' });
      else throw e;
    }
  };
  useEffect(() => {
    refresh();
  }, []);

  if (session.kind === 'loading') return html`<p class="loading">Loading…</p>`;
  if (session.kind === 'api-key') return html`<${ApiKey} done=${refresh} wrong=${session.wrong} />`;
  if (session.kind === 'setup') return html`<${Setup} done=${refresh} />`;
  if (session.kind === 'signed-out') return html`<${Login} done=${refresh} />`;

  const me = session.me;
  const current = me.workspaces.find((w) => w.slug === workspace) ?? me.workspaces[0];
  const choose = (slug: string) => {
    localStorage.setItem('shoebox.workspace', slug);
    setWorkspace(slug);
  };
  const logout = async () => {
    await api('POST', '/auth/logout').catch(() => undefined);
    setCsrf(null);
    setSession({ kind: 'signed-out' });
  };
  const [page, arg] = hash.split('/').filter(Boolean);
  const pages: Record<string, () => unknown> = {
    photo: () => html`<${Photo} id=${Number(arg)} role=${current?.role} />`,
    events: () => html`<${Events} workspace=${current} />`,
    devices: () => html`<${Devices} />`,
    network: () => html`<${Network} />`,
    status: () => html`<${Status} />`,
    integrations: () => html`<${Integrations} workspace=${current} />`,
    users: () => (me.user.is_admin ? html`<${Users} me=${me} />` : html`<${MyAccess} me=${me} />`),
    access: () => html`<${MyAccess} me=${me} />`,
    members: () => html`<${Members} workspace=${current} me=${me} />`,
  };
  const body = (pages[page] ?? (() => html`<${Library} workspace=${current} />`))();
  const link = (to: string, label: string) =>
    html`<a href=${`#/${to}`} aria-current=${page === to || (!page && to === 'library') ? 'page' : undefined}>${label}</a>`;
  return html`
    <header class="bar">
      <a class="brand" href="#/library">Shoebox</a>
      <nav aria-label="Main">
        ${link('library', 'Library')} ${link('events', 'Events')} ${link('integrations', 'Integrations')}
        ${link('devices', 'Devices')}
        ${me.user.is_admin ? link('users', 'Users') : link('access', 'Access link')}
        ${current?.role === 'admin' && link('members', 'Members')}
        ${me.user.is_admin && html`${link('network', 'Network')} ${link('status', 'Status')}`}
      </nav>
      <label class="workspace">
        <span>Workspace</span>
        <select value=${current?.slug} onChange=${(e: Event) => choose((e.target as HTMLSelectElement).value)}>
          ${me.workspaces.map((w) => html`<option value=${w.slug}>${w.name}</option>`)}
        </select>
      </label>
      <span class="who">${me.user.username}</span>
      <button type="button" onClick=${logout}>Sign out</button>
    </header>
    <main>${current || OUTSIDE_WORKSPACES.includes(page) ? body : html`<p>You are not a member of any workspace yet.</p>`}</main>
  `;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
