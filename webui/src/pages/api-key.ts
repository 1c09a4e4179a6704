// The box's owner may require an API key of every client (`server.api_key`). The app asks for it
// once per browser, before anything else, since even the sign-in needs it.
import { setApiKey } from '../api';
import { html, useForm } from '../ui';

export function ApiKey({ done, wrong }: { done: () => Promise<void>; wrong: boolean }) {
  const [error, submit] = useForm(async (form) => {
    setApiKey(String(form.get('key')).trim());
    await done();
  });
  return html`
    <main class="narrow">
      <h1>This box needs its API key</h1>
      <p>Its owner set one in the configuration (<code>server.api_key</code>). This browser remembers it.</p>
      <form onSubmit=${submit}>
        <label>API key <input name="key" type="password" required autocomplete="off" /></label>
        ${(error || wrong) && html`<p class="error" role="alert">${error || 'That key is not the one the box has.'}</p>`}
        <button type="submit">Continue</button>
      </form>
    </main>
  `;
}
