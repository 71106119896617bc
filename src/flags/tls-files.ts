/**
 * The etcd TLS files must be readable PEM, and the key must belong to the certificate: otherwise the
 * etcd client fails later with a stack trace and exit 1, and systemd restarts it forever.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bad } from './checks.js';

/** PEM blocks of one type, e.g. CERTIFICATE. */
function pemBlocks(text: string, type: RegExp): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].filter((m) => type.test(m[1] ?? '')).map((m) => m[0]);
}

function readPem(label: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw bad(label, path, `cannot read it: ${why}`);
  }
}

function certificates(label: string, path: string): X509Certificate[] {
  const blocks = pemBlocks(readPem(label, path), /^(X509 |TRUSTED )?CERTIFICATE$/);
  if (blocks.length === 0) throw bad(label, path, 'no PEM certificate in it (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw bad(label, path, `certificate ${index + 1} does not parse: ${(err as Error).message}`);
    }
  });
}

export function checkTlsFiles(files: { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined }, label: (flag: string) => string): void {
  if (files.caFile !== undefined) certificates(label('--etcd-cafile'), files.caFile);
  const cert = files.certFile === undefined ? undefined : certificates(label('--etcd-certfile'), files.certFile)[0];
  if (files.keyFile === undefined) return;
  const keyLabel = label('--etcd-keyfile');
  const keyText = readPem(keyLabel, files.keyFile);
  if (pemBlocks(keyText, /PRIVATE KEY$/).length === 0) throw bad(keyLabel, files.keyFile, 'no PEM private key in it (-----BEGIN PRIVATE KEY-----)');
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (err) {
    throw bad(keyLabel, files.keyFile, `the private key does not parse (an encrypted key is not supported): ${(err as Error).message}`);
  }
  if (cert !== undefined && !cert.checkPrivateKey(key)) {
    throw bad(keyLabel, files.keyFile, `not the key of the certificate in ${label('--etcd-certfile')} ${files.certFile ?? ''}`);
  }
}
