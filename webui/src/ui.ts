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
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return [error, submit];
}
