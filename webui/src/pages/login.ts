import { useState } from 'preact/hooks';

import { api, ApiError, Login as LoginAnswer, setCsrf } from '../api';
import { html } from '../ui';

export function Login({ done }: { done: () => void }) {
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    try {
      const login = await api<LoginAnswer>('POST', '/auth/login', {
        username: String(form.get('username')).trim(),
        password: String(form.get('password')),
      });
      setCsrf(login.csrf_token);
      done();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return html`
    <main class="narrow">
      <h1>Sign in to Shoebox</h1>
      <form onSubmit=${submit}>
        <label>User name <input name="username" required autocomplete="username" /></label>
        <label>Password <input name="password" type="password" required autocomplete="current-password" /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit">Sign in</button>
      </form>
    </main>
  `;
}
