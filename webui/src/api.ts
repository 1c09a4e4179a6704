// The box's REST API (docs/api.md) as the browser uses it: the session cookie the login set, and
// the CSRF token it returned on every request that changes something.

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

const CSRF_KEY = 'shoebox.csrf';
const API_KEY = 'shoebox.api-key';

export function setCsrf(token: string | null): void {
  if (token) localStorage.setItem(CSRF_KEY, token);
  else localStorage.removeItem(CSRF_KEY);
}

/** The box's API key, when its owner set one (`server.api_key`); kept in this browser only. */
export function setApiKey(key: string): void {
  localStorage.setItem(API_KEY, key);
}

/** What every API request carries besides the cookie: the API key, and on changes the CSRF token. */
export function authHeaders(method: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const key = localStorage.getItem(API_KEY);
  if (key) headers['x-api-key'] = key;
  const token = localStorage.getItem(CSRF_KEY);
  if (!['GET', 'HEAD'].includes(method) && token) headers['x-csrf-token'] = token;
  return headers;
}

export async function errorOf(r: Response): Promise<ApiError> {
  const body = await r.json().catch(() => null);
  return new ApiError(r.status, body?.error?.code ?? 'error', body?.error?.message ?? r.statusText);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = authHeaders(method);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw await errorOf(r);
  if (r.status === 204) return undefined as T;
  return (await r.json()) as T;
}

export interface User {
  id: number;
  username: string;
  is_admin: boolean;
}

export interface WorkspaceRole {
  slug: string;
  name: string;
  role: 'viewer' | 'contributor' | 'editor' | 'admin';
}

export interface Me {
  user: User;
  workspaces: WorkspaceRole[];
  /** Given to a browser signed in by its cookie alone (an access link), which never saw a login. */
  csrf_token?: string;
}

export interface Asset {
  id: number;
  workspace: string;
  media_type: string;
  kind: 'image' | 'video';
  path: string;
  original_name: string;
  title: string | null;
  tags: string[];
  taken_at: string;
  size: number;
  device: string | null;
  uploaded_at: string;
}

export interface Login {
  token: string;
  csrf_token: string;
  user: User;
}
