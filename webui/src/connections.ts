// Cloud connections as the API shows them (docs/api.md, "Cloud connections"), and the words the
// pages use for them.

export type Provider = 'google_drive' | 'dropbox' | 'onedrive' | 'sharepoint' | 's3';
export type Direction = 'push' | 'pull';
export type SignIn = 'device' | 'paste_code' | 'keys';

export type AuthStep =
  | { kind: 'device'; user_code: string; verification_url: string; verification_url_complete: string | null; expires_at: string }
  | { kind: 'code'; authorize_url: string };

export interface Connection {
  id: number;
  direction: Direction;
  provider: Provider;
  remote_folder: string;
  options: { s3?: { endpoint: string; bucket: string; region: string; path_style: boolean }; site?: string; library?: string };
  enabled: boolean;
  auto_sync: boolean;
  interval_secs: number;
  local_prefix: string;
  mirror_deletes: boolean;
  state: 'awaiting_auth' | 'idle' | 'syncing' | 'error' | 'needs_reconnect';
  last_error: string | null;
  last_sync_at: string | null;
  last_success_at: string | null;
  created_by: string | null;
  created_at: string;
  queue: { queued: number; failing: number; next_retry_at: string | null };
  pulled: { imported: number; already_there: number; not_media: number; deleted_locally: number };
  progress: { started_at: string; listed: number; done: number } | null;
  auth: AuthStep | null;
}

export interface Offer {
  provider: Provider;
  configured: boolean;
  setting: string | null;
  push: SignIn;
  pull: SignIn;
}

export const PROVIDERS: Record<Provider, string> = {
  google_drive: 'Google Drive',
  dropbox: 'Dropbox',
  onedrive: 'OneDrive',
  sharepoint: 'SharePoint',
  s3: 'S3',
};

/** The folder as the owner knows it: S3 shows its bucket, an empty path the whole drive. */
export function folderName(c: Connection): string {
  const bucket = c.options.s3?.bucket;
  if (bucket) return c.remote_folder ? `${bucket}/${c.remote_folder}` : bucket;
  return c.remote_folder || `Whole ${PROVIDERS[c.provider]}`;
}

/** One line for the state column; the details say more. */
export function stateText(c: Connection): string {
  switch (c.state) {
    case 'awaiting_auth':
      return 'Waiting for sign-in';
    case 'needs_reconnect':
      return 'Sign in again';
    case 'error':
      return `Error: ${c.last_error ?? 'unknown'}`;
    case 'syncing':
      return c.progress ? `Syncing: ${c.progress.done} of ${c.progress.listed}` : 'Syncing';
    case 'idle':
      if (!c.enabled) return 'Paused';
      if (c.direction === 'push' && c.queue.queued > 0) return `${c.queue.queued} waiting`;
      return 'Up to date';
  }
}

export const INTERVALS: [number, string][] = [
  [60, 'every minute'],
  [300, 'every 5 minutes'],
  [900, 'every 15 minutes'],
  [3600, 'every hour'],
  [86400, 'every day'],
];
