// The owner's part of connecting an account: a code to type at the provider's page (the box
// finishes on its own, and the list it polls shows when), or a page to open and a code to paste
// back. Nothing here talks to the provider; the box does.
import { api } from '../api';
import { Connection, PROVIDERS } from '../connections';
import { html, useForm } from '../ui';

interface Props {
  connection: Connection;
  /** Stop showing the step (the page removes a new connection that never signed in). */
  close: () => void;
  changed: () => Promise<void>;
}

/** Links from the provider's answer are shown only if they are web addresses. */
function webLink(url: string | null | undefined): string | undefined {
  return url && /^https?:\/\//i.test(url) ? url : undefined;
}

export function SignInStep({ connection, close, changed }: Props) {
  const name = PROVIDERS[connection.provider];
  const [error, paste] = useForm(async (form) => {
    await api('POST', `/connections/${connection.id}/authorize`, { code: String(form.get('code')).trim() });
    await changed();
  });
  const auth = connection.auth;
  const cancel = html`<button type="button" class="plain" onClick=${close}>Cancel</button>`;
  if (connection.state !== 'awaiting_auth') {
    return html`<div class="sign-in" role="status">
      <p>Connected to ${name}. ${connection.direction === 'push' ? 'Photos are on their way.' : 'The first sync has started.'}</p>
      <button type="button" onClick=${close}>Done</button>
    </div>`;
  }
  if (!auth) {
    return html`<div class="sign-in" role="alert">
      <p>The sign-in for ${name} was interrupted (the box restarted). Start it again with “Sign in”.</p>${cancel}
    </div>`;
  }
  if (auth.kind === 'device') {
    const expires = new Date(auth.expires_at).toLocaleTimeString();
    return html`<div class="sign-in" aria-labelledby="sign-in-title">
      <h2 id="sign-in-title">Sign in to ${name}</h2>
      <ol>
        <li>On any phone or computer, open <a href=${webLink(auth.verification_url_complete) ?? webLink(auth.verification_url)}
          target="_blank" rel="noopener noreferrer">${auth.verification_url}</a>.</li>
        <li>Enter this code: <code class="user-code" aria-label="Code to enter">${auth.user_code}</code></li>
        <li>Allow Shoebox. This page notices by itself.</li>
      </ol>
      <p><small>The code works until ${expires}.</small></p>
      <p class="waiting" role="status">Waiting for you to allow it…</p>
      ${cancel}
    </div>`;
  }
  return html`<div class="sign-in" aria-labelledby="sign-in-title">
    <h2 id="sign-in-title">Sign in to ${name}</h2>
    <ol>
      <li><a href=${webLink(auth.authorize_url)} target="_blank" rel="noopener noreferrer">Open ${name}'s sign-in page</a> and allow Shoebox.</li>
      <li>Paste the code it shows, or the address your browser ended on if the page did not load.</li>
    </ol>
    <form onSubmit=${paste} aria-label=${`Code from ${name}`}>
      <label>Code or address <input name="code" required autocomplete="off" /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions"><button type="submit">Connect</button>${cancel}</div>
    </form>
  </div>`;
}
