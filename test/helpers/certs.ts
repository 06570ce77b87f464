// Real certificates for the TLS tests, made with Debian's openssl in a
// temporary directory: a CA and a second, unrelated CA; a server certificate
// for 127.0.0.1 and localhost (and custom-spu-5001.localhost: Fluvio's client
// checks an SPU's certificate against "<spu name>.<domain>"); client certificates (subject CN = the user)
// signed by the CA, one signed by the other CA, and one that has expired.

import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface TestCertificates {
  dir: string;
  ca: CertPair;
  otherCa: CertPair;
  server: CertPair;
  /** Client certificates by CN, signed by `ca`. */
  client(name: string): Promise<CertPair>;
  /** A client certificate signed by `otherCa`. */
  rogue: CertPair;
  /** A client certificate signed by `ca` that expired in 2020. */
  expired: CertPair;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed: apt-get install -y openssl (.ci/run installs it)', { cause: err });
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

async function pair(dir: string, name: string): Promise<CertPair> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function selfSignedCa(dir: string, name: string): Promise<CertPair> {
  await openssl(['req', '-x509', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '30', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return pair(dir, name);
}

async function signed(dir: string, name: string, ca: string, subject: string, extensions: string): Promise<CertPair> {
  await openssl(['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '30', '-extfile', `${name}.ext`], dir);
  return pair(dir, name);
}

const CLIENT_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n';

/** An expired certificate needs `openssl ca`, which takes explicit start and end dates. */
async function expiredClient(dir: string): Promise<CertPair> {
  const db = path.join(dir, 'ca-db');
  await mkdir(path.join(db, 'new'), { recursive: true });
  await writeFile(path.join(db, 'index.txt'), '');
  await writeFile(path.join(db, 'serial'), '1000\n');
  await writeFile(
    path.join(db, 'ca.cnf'),
    `[ca]\ndefault_ca = test\n[test]\ndatabase = ${db}/index.txt\nnew_certs_dir = ${db}/new\nserial = ${db}/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n[client]\n${CLIENT_EXT}`,
  );
  await openssl(['req', ...KEY, '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=alice'], dir);
  await openssl(['ca', '-batch', '-config', `${db}/ca.cnf`, '-extensions', 'client', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.crt', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext'], dir);
  return pair(dir, 'expired');
}

export async function makeCertificates(dir: string): Promise<TestCertificates> {
  await mkdir(dir, { recursive: true });
  const ca = await selfSignedCa(dir, 'ca');
  const otherCa = await selfSignedCa(dir, 'other-ca');
  const server = await signed(dir, 'server', 'ca', '/CN=freshet-node', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:custom-spu-5001.localhost\n');
  const rogue = await signed(dir, 'rogue', 'other-ca', '/CN=alice', CLIENT_EXT);
  const expired = await expiredClient(dir);
  const clients = new Map<string, Promise<CertPair>>();
  return {
    dir,
    ca,
    otherCa,
    server,
    rogue,
    expired,
    client(name: string) {
      let made = clients.get(name);
      if (!made) {
        made = signed(dir, `client-${name}`, 'ca', `/CN=${name}`, CLIENT_EXT);
        clients.set(name, made);
      }
      return made;
    },
  };
}
