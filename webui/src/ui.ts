// Preact with htm's tagged templates: no JSX compiler in the build, a few kilobytes in the bundle.
import { h } from 'preact';
import htm from 'htm';

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
