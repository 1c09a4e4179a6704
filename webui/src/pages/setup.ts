// First run: the setup code the box logged, the owner's account, and the box's name.
import { api, Login, setCsrf } from '../api';
import { html, useForm } from '../ui';

export function Setup({ done }: { done: () => void }) {
  const [error, submit] = useForm(async (form) => {
    const login = await api<Login>('POST', '/setup', {
      setup_code: String(form.get('code')).trim(),
      username: String(form.get('username')).trim(),
      password: String(form.get('password')),
    });
    setCsrf(login.csrf_token);
    done();
  });
  return html`
    <main class="narrow">
      <h1>Welcome to your Shoebox</h1>
      <p>Enter the setup code from the box's log, and choose the owner's account.</p>
      <form onSubmit=${submit}>
        <label>Setup code <input name="code" required autocomplete="one-time-code" /></label>
        <label>Owner's user name <input name="username" required autocomplete="username" /></label>
        <label>Password <input name="password" type="password" required minlength="8" autocomplete="new-password" /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit">Create the owner account</button>
      </form>
    </main>
  `;
}
