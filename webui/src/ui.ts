// Preact with htm's tagged templates: no JSX compiler in the build, a few kilobytes in the bundle.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import htm from 'htm';

import { ApiError } from './api';

export const html = htm.bind(h);

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** A time from the API in the reader's own words, or "never". */
export function when(at: string | null): string {
  return at ? new Date(at).toLocaleString() : 'never';
}

/** What to show for a failed call: the box's own message when it gave one. */
export function errorText(e: unknown): string {
  return e instanceof ApiError ? e.message : String(e);
}

export function go(path: string): void {
  location.hash = `#${path}`;
}

/** A form's submit handler that runs `send` with its fields, and the error to show when it fails. */
export function useForm(send: (form: FormData) => Promise<void>): [string, (e: Event) => Promise<void>] {
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await send(new FormData(e.target as HTMLFormElement));
      setError('');
    } catch (err) {
      setError(errorText(err));
    }
  };
  return [error, submit];
}
