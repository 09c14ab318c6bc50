import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';

/**
 * `watrunk sip credentials` (docs/whatsapp-calling.md#sip-mode): Meta generates one
 * SIP password per (business number, app); GET /settings?include_sip_credentials=true returns it
 * in sip.servers[].sip_user_password. The password never reaches a log: it is masked unless
 * revealed on purpose, written only to files with mode 0600, and only its sha256 fingerprint is
 * remembered (to notice when Meta has changed it since the last fetch).
 */

export interface SipCredential {
  hostname: string;
  port: number;
  appId?: string;
  password: string;
  /** "sha256:<hex>" of the password. */
  fingerprint: string;
}

export const MASK = '********';

export function fingerprintOf(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

/** What may be shown of a password: nothing but a mask and a short fingerprint. */
function maskedCredential(c: SipCredential): string {
  return `${MASK} (${c.fingerprint.slice(0, 'sha256:'.length + 12)})`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the SIP credentials of every server entry that carries one. */
export async function fetchSipCredentials(settings: WhatsAppSettings): Promise<SipCredential[]> {
  const doc = await settings.getSettings({ includeSipCredentials: true });
  const calling = isObject(doc['calling']) ? doc['calling'] : {};
  const sip = isObject(calling['sip']) ? calling['sip'] : {};
  const servers = Array.isArray(sip['servers']) ? sip['servers'] : [];
  return servers.filter(isObject).flatMap((s) => {
    const password = s['sip_user_password'];
    if (typeof password !== 'string' || password === '') return [];
    return [{
      hostname: String(s['hostname'] ?? ''),
      port: typeof s['port'] === 'number' ? s['port'] : 5061,
      ...(typeof s['app_id'] === 'string' && { appId: s['app_id'] }),
      password,
      fingerprint: fingerprintOf(password),
    }];
  });
}

/**
 * Writes a file only its owner may read (0600), atomically: a temporary file created with 0600 in
 * the same directory, then renamed over the target (an existing file's looser mode does not survive).
 */
async function writePrivateFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

interface StateDoc {
  version: 1;
  /** phone_number_id → hostname → fingerprint record */
  credentials: Record<string, Record<string, { fingerprint: string; fetched_at: string }>>;
}

export interface FingerprintCheck {
  /** True when a different fingerprint was stored for this number and server. */
  changed: boolean;
  firstFetch: boolean;
  previousFetchedAt?: string;
}

/** The small state file (default var/sip-credentials.json) with fingerprints, never passwords. */
export class CredentialFingerprints {
  constructor(private readonly file: string, private readonly clock: () => number = Date.now) {}

  private async read(): Promise<StateDoc> {
    try {
      const doc = JSON.parse(await readFile(this.file, 'utf8')) as Partial<StateDoc>;
      return { version: 1, credentials: isObject(doc.credentials) ? doc.credentials as StateDoc['credentials'] : {} };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, credentials: {} };
      throw new Error(`cannot read the credentials state file ${this.file}: ${(err as Error).message}`);
    }
  }

  /** Compares each credential with the stored fingerprint, then stores the new ones. */
  async compareAndStore(phoneNumberId: string, creds: SipCredential[]): Promise<Map<string, FingerprintCheck>> {
    const doc = await this.read();
    const forNumber = doc.credentials[phoneNumberId] ?? {};
    const out = new Map<string, FingerprintCheck>();
    const at = new Date(this.clock()).toISOString();
    for (const c of creds) {
      const prev = forNumber[c.hostname];
      out.set(c.hostname, {
        changed: prev !== undefined && prev.fingerprint !== c.fingerprint,
        firstFetch: prev === undefined,
        ...(prev && { previousFetchedAt: prev.fetched_at }),
      });
      forNumber[c.hostname] = { fingerprint: c.fingerprint, fetched_at: at };
    }
    doc.credentials[phoneNumberId] = forNumber;
    await writePrivateFile(this.file, `${JSON.stringify(doc, null, 2)}\n`);
    return out;
  }
}

export interface CredentialsReport {
  number: string;
  credentials: Array<{
    hostname: string;
    port: number;
    appId?: string;
    /** The password itself only with `reveal`; otherwise the mask. */
    password: string;
    revealed: boolean;
    fingerprint: string;
    changedSinceLastFetch: boolean;
    firstFetch: boolean;
  }>;
  /** Where the password was written (mode 0600), when asked. */
  writtenTo?: string;
}

export interface CredentialsRequest {
  number: string;
  phoneNumberId: string;
  settings: WhatsAppSettings;
  state: CredentialFingerprints;
  reveal?: boolean;
  /** Write the password (one line) to this file, mode 0600. */
  outputFile?: string;
  /** With several server entries: the one to write (default: the first). */
  hostname?: string;
}

/** Fetch, fingerprint, remember, optionally write: everything `sip credentials` does. */
export async function sipCredentials(req: CredentialsRequest): Promise<CredentialsReport> {
  const creds = await fetchSipCredentials(req.settings);
  const checks = await req.state.compareAndStore(req.phoneNumberId, creds);
  let writtenTo: string | undefined;
  if (req.outputFile) {
    const chosen = req.hostname ? creds.find((c) => c.hostname === req.hostname) : creds[0];
    if (!chosen) {
      throw new Error(req.hostname ? `no SIP credentials for server ${req.hostname}` : 'Meta returned no SIP credentials (is a SIP server configured?)');
    }
    await writePrivateFile(req.outputFile, `${chosen.password}\n`);
    writtenTo = req.outputFile;
  }
  return {
    number: req.number,
    credentials: creds.map((c) => {
      const check = checks.get(c.hostname);
      return {
        hostname: c.hostname, port: c.port, ...(c.appId !== undefined && { appId: c.appId }),
        password: req.reveal ? c.password : maskedCredential(c),
        revealed: req.reveal === true,
        fingerprint: c.fingerprint,
        changedSinceLastFetch: check?.changed ?? false,
        firstFetch: check?.firstFetch ?? true,
      };
    }),
    ...(writtenTo !== undefined && { writtenTo }),
  };
}
