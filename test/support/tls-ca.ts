/**
 * A throwaway private PKI for TLS tests, made with the `openssl` command-line tool in a temp dir:
 * a root CA, an intermediate CA under it (the layout public CAs such as Let's Encrypt use), and
 * server certificates issued by the intermediate for the DNS names and IP addresses a test asks
 * for. Keys are ECDSA P-256 by default (small certificates, small handshakes).
 *
 * What each file is for (the names follow certbot's: cert.pem, chain.pem, fullchain.pem):
 *  - `certFile`: the server certificate alone;
 *  - `keyFile`: its private key (PKCS#8 PEM, unencrypted);
 *  - `chainFile`: the intermediate alone, like certbot's chain.pem;
 *  - `fullChainFile`: server certificate + intermediate;
 *  - `caBundleFile`: intermediate + root, for a peer that must both send the intermediate and trust
 *    this CA (drachtio-server's chain file does both, see docs/tls.md);
 *  - `rootCertFile`: the trust anchor a client is given (e.g. `openssl s_client -CAfile`).
 *
 * Nothing here is secret or long-lived: certificates are valid for `days` (default 2) and the
 * directory is removed by cleanup(). See docs/tls.md#tests.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OPENSSL_BIN_ENV = 'OPENSSL_BIN';

/** The openssl binary: env OPENSSL_BIN, else `openssl` (from PATH). */
export function opensslBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env[OPENSSL_BIN_ENV] || 'openssl';
}

/** `openssl version` output, or undefined when openssl cannot be run (5 s bound). */
export function opensslVersion(bin = opensslBinary()): string | undefined {
  try {
    return execFileSync(bin, ['version'], { timeout: 5_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return undefined;
  }
}

/** Why TLS tests that need openssl must skip, or undefined when openssl is there. */
export function opensslSkipReason(): string | undefined {
  return opensslVersion() ? undefined : `'${opensslBinary()}' cannot be run (apt-get install openssl, or set ${OPENSSL_BIN_ENV})`;
}

export type TlsKeyType = 'ec' | 'rsa';

export interface TestCaOptions {
  /** Common name of the root (default 'watrunk test root CA'); the intermediate's adds ' intermediate'. */
  name?: string;
  /** Key type of both CAs (default 'ec': ECDSA P-256; 'rsa': RSA 2048). */
  keyType?: TlsKeyType;
  /** Validity of the CA certificates in days (default 2). */
  days?: number;
  /** Directory to write into (default: a new temp dir, removed by cleanup()). */
  dir?: string;
}

export interface ServerCertOptions {
  /** subjectAltName DNS entries, e.g. ['sip.watrunk.test', 'localhost']. At least one name or IP. */
  dnsNames?: string[];
  /** subjectAltName IP entries, e.g. ['127.0.0.1']. */
  ipAddresses?: string[];
  /** Subject CN (default: the first DNS name, else the first IP). */
  commonName?: string;
  /** Key type (default: the CA's). */
  keyType?: TlsKeyType;
  /** Validity in days (default 2). */
  days?: number;
  /** File name prefix inside the CA's directory (default 'server', then 'server-2', …). */
  name?: string;
}

export interface ServerCert {
  certFile: string;
  keyFile: string;
  /** The intermediate CA certificate alone (certbot's chain.pem). */
  chainFile: string;
  /** certFile + chainFile (certbot's fullchain.pem). */
  fullChainFile: string;
  /** Intermediate + root: what drachtio-server needs as its chain file to also *trust* this CA. */
  caBundleFile: string;
  /** The root CA certificate (trust anchor). */
  rootCertFile: string;
  dnsNames: string[];
  ipAddresses: string[];
}

export interface TestCa {
  dir: string;
  rootCertFile: string;
  rootKeyFile: string;
  intermediateCertFile: string;
  intermediateKeyFile: string;
  /** Intermediate + root in one PEM file. */
  caBundleFile: string;
  /** Issues a server certificate (serverAuth and clientAuth) signed by the intermediate. */
  issueServerCert(opts: ServerCertOptions): Promise<ServerCert>;
  /** Removes the directory if this module created it. Idempotent. */
  cleanup(): Promise<void>;
}

const OPENSSL_TIMEOUT_MS = 15_000;

function openssl(args: string[], cwd: string): Promise<string> {
  const bin = opensslBinary();
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, timeout: OPENSSL_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function newKey(path: string, type: TlsKeyType, cwd: string): Promise<void> {
  const algo = type === 'ec'
    ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
    : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
  await openssl(['genpkey', ...algo, '-out', path], cwd);
}

const serial = (): string => `0x${randomBytes(12).toString('hex')}`;

/** `/CN=...` with the characters openssl's -subj treats specially escaped. */
const subj = (cn: string): string => `/CN=${cn.replace(/([/\\=+,])/g, '\\$1')}`;

/** Signs `csr` with the given issuer, adding the extensions in `ext` (an openssl extfile body). */
async function sign(cwd: string, csr: string, out: string, issuerCert: string, issuerKey: string, ext: string, days: number): Promise<void> {
  const extFile = `${out}.ext`;
  await writeFile(join(cwd, extFile), `${ext}\n`);
  await openssl(['x509', '-req', '-in', csr, '-CA', issuerCert, '-CAkey', issuerKey, '-set_serial', serial(),
    '-days', String(days), '-sha256', '-extfile', extFile, '-out', out], cwd);
}

/**
 * Creates a root CA and an intermediate CA in a temp dir (or `opts.dir`). Throws (naming openssl)
 * when openssl is missing or fails; every openssl run is bounded to 15 s.
 */
export async function createTestCa(opts: TestCaOptions = {}): Promise<TestCa> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'watrunk-tls-ca-')));
  const keyType = opts.keyType ?? 'ec';
  const days = opts.days ?? 2;
  const name = opts.name ?? 'watrunk test root CA';
  try {
    await newKey('root.key', keyType, dir);
    await openssl(['req', '-x509', '-new', '-key', 'root.key', '-sha256', '-days', String(days), '-subj', subj(name),
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', 'subjectKeyIdentifier=hash',
      '-out', 'root.pem'], dir);
    await newKey('intermediate.key', keyType, dir);
    await openssl(['req', '-new', '-key', 'intermediate.key', '-subj', subj(`${name} intermediate`), '-out', 'intermediate.csr'], dir);
    await sign(dir, 'intermediate.csr', 'intermediate.pem', 'root.pem', 'root.key', [
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      'keyUsage=critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid:always',
    ].join('\n'), days);
  } catch (err) {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const rootPem = await readFile(join(dir, 'root.pem'), 'utf8');
  const intermediatePem = await readFile(join(dir, 'intermediate.pem'), 'utf8');
  const caBundleFile = join(dir, 'ca-bundle.pem');
  await writeFile(caBundleFile, intermediatePem + rootPem);

  const used = new Set<string>();
  let cleaned = false;
  return {
    dir,
    rootCertFile: join(dir, 'root.pem'),
    rootKeyFile: join(dir, 'root.key'),
    intermediateCertFile: join(dir, 'intermediate.pem'),
    intermediateKeyFile: join(dir, 'intermediate.key'),
    caBundleFile,
    async issueServerCert(o: ServerCertOptions): Promise<ServerCert> {
      const dnsNames = o.dnsNames ?? [];
      const ipAddresses = o.ipAddresses ?? [];
      if (dnsNames.length === 0 && ipAddresses.length === 0) throw new Error('issueServerCert: give at least one DNS name or IP address');
      for (const ip of ipAddresses) if (!isIP(ip)) throw new Error(`issueServerCert: not an IP address: ${ip}`);
      for (const n of dnsNames) if (!/^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(n)) throw new Error(`issueServerCert: not a DNS name: ${n}`);
      let base = o.name ?? 'server';
      for (let i = 2; used.has(base); i++) base = `${o.name ?? 'server'}-${i}`;
      if (!/^[A-Za-z0-9_-]+$/.test(base)) throw new Error(`issueServerCert: bad file name prefix: ${base}`);
      used.add(base);
      const cn = o.commonName ?? dnsNames[0] ?? ipAddresses[0]!;
      const san = [...dnsNames.map((n) => `DNS:${n}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(',');
      await newKey(`${base}.key`, o.keyType ?? keyType, dir);
      await openssl(['req', '-new', '-key', `${base}.key`, '-subj', subj(cn), '-out', `${base}.csr`], dir);
      await sign(dir, `${base}.csr`, `${base}.pem`, 'intermediate.pem', 'intermediate.key', [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${san}`,
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid:always',
      ].join('\n'), o.days ?? 2);
      const leafPem = await readFile(join(dir, `${base}.pem`), 'utf8');
      const fullChainFile = join(dir, `${base}-fullchain.pem`);
      await writeFile(fullChainFile, leafPem + intermediatePem);
      return {
        certFile: join(dir, `${base}.pem`),
        keyFile: join(dir, `${base}.key`),
        chainFile: join(dir, 'intermediate.pem'),
        fullChainFile,
        caBundleFile,
        rootCertFile: join(dir, 'root.pem'),
        dnsNames: [...dnsNames],
        ipAddresses: [...ipAddresses],
      };
    },
    async cleanup(): Promise<void> {
      if (cleaned || !ownDir) return;
      cleaned = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
