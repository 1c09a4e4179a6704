// Sending files to the box: one multipart request for a photo, the resumable tus protocol for
// anything large (videos), so a dropped Wi-Fi connection costs a chunk, not the whole file.
import { authHeaders, errorOf } from './api';

export type Outcome = 'stored' | 'exists' | 'deleted' | 'refused' | 'failed';

export interface Result {
  outcome: Outcome;
  message: string;
  assetId?: number;
}

const RESUMABLE_ABOVE = 32 << 20;
const CHUNK = 8 << 20;

export async function upload(file: File, workspace: string, progress: (sent: number) => void): Promise<Result> {
  try {
    return file.size > RESUMABLE_ABOVE ? await resumable(file, workspace, progress) : await simple(file, workspace, progress);
  } catch (e) {
    return { outcome: 'failed', message: e instanceof Error ? e.message : String(e) };
  }
}

function refusal(status: number, code: string, message: string): Result {
  if (code === 'asset_deleted') return { outcome: 'deleted', message: 'deleted by the owner before; not stored again' };
  if (status === 0 || status >= 500 && status !== 507) return { outcome: 'failed', message: message || 'the box did not answer' };
  return { outcome: 'refused', message };
}

function simple(file: File, workspace: string, progress: (sent: number) => void): Promise<Result> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/assets?workspace=${encodeURIComponent(workspace)}`);
    for (const [k, v] of Object.entries(authHeaders('POST'))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => progress(e.loaded);
    xhr.onerror = () => resolve({ outcome: 'failed', message: 'the connection to the box was lost' });
    xhr.onload = () => {
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 200 || xhr.status === 201) {
        const stored = body?.status === 'stored';
        resolve({ outcome: stored ? 'stored' : 'exists', message: stored ? 'stored' : 'already there', assetId: body?.asset?.id });
      } else {
        resolve(refusal(xhr.status, body?.error?.code ?? '', body?.error?.message ?? xhr.statusText));
      }
    };
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

async function resumable(file: File, workspace: string, progress: (sent: number) => void): Promise<Result> {
  const tus = { 'tus-resumable': '1.0.0', ...authHeaders('POST') };
  const created = await fetch('/api/v1/uploads', {
    method: 'POST',
    headers: { ...tus, 'upload-length': String(file.size), 'upload-metadata': `filename ${b64(file.name)},workspace ${b64(workspace)}` },
  });
  if (created.status !== 201) {
    const e = await errorOf(created);
    return refusal(e.status, e.code, e.message);
  }
  const url = created.headers.get('location') ?? '';
  let offset = 0;
  for (let attempt = 0; attempt < 5; ) {
    const r = await fetch(url, {
      method: 'PATCH',
      headers: { ...tus, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
      body: file.slice(offset, offset + CHUNK),
    }).catch(() => null);
    if (r && r.status === 204) {
      offset = Number(r.headers.get('upload-offset'));
      progress(offset);
      const status = r.headers.get('shoebox-status');
      if (status) {
        const id = Number(r.headers.get('shoebox-asset-id'));
        return { outcome: status === 'stored' ? 'stored' : 'exists', message: status === 'stored' ? 'stored' : 'already there', assetId: id };
      }
      attempt = 0;
      continue;
    }
    if (r && r.status !== 409 && r.status < 500) {
      const e = await errorOf(r);
      return refusal(e.status, e.code, e.message);
    }
    // Cut off, or the offset moved: ask the box how far it got, then carry on from there.
    attempt++;
    await new Promise((done) => setTimeout(done, 1000 * attempt));
    const head = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', ...authHeaders('HEAD') } }).catch(() => null);
    if (head?.ok) offset = Number(head.headers.get('upload-offset'));
  }
  return { outcome: 'failed', message: 'the upload kept being cut off; try again to resume it' };
}
