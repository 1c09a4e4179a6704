import { api, Login as LoginAnswer, setCsrf } from '../api';
import { html, useForm } from '../ui';

export function Login({ done }: { done: () => void }) {
  const [error, submit] = useForm(async (form) => {
    const login = await api<LoginAnswer>('POST', '/auth/login', {
      username: String(form.get('username')).trim(),
      password: String(form.get('password')),
    });
    setCsrf(login.csrf_token);
    done();
  });
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
