import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import {
  bitString,
  boolean,
  explicit,
  implicit,
  namedBits,
  objectIdentifier,
  octetString,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';

// OIDs (RFC 5280, RFC 5758).
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';
const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const EXT_KEY_USAGE = '2.5.29.37';
const SUBJECT_ALT_NAME = '2.5.29.17';
const SUBJECT_KEY_ID = '2.5.29.14';
const AUTHORITY_KEY_ID = '2.5.29.35';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
// KeyUsage bits.
const DIGITAL_SIGNATURE = 0;
const KEY_CERT_SIGN = 5;
const CRL_SIGN = 6;

const ORGANIZATION_NAME = 'keyless emulator';
const VALIDITY_MS = 30 * 24 * 3600 * 1000;

export interface ServerCertificate {
  /** PEM of the CA: what clients trust. */
  caPem: string;
  /** PEM of the leaf for 127.0.0.1, ::1 and localhost. */
  certPem: string;
  /** PEM (PKCS#8) of the leaf's private key; lives in memory only. */
  keyPem: string;
}

/**
 * A fresh CA and a server certificate it signs, for 127.0.0.1, ::1 and localhost. The CA's private key
 * is dropped once the leaf is signed, so trusting the CA lets nobody mint further certificates.
 */
export function createServerCertificate(now = new Date()): ServerCertificate {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const notBefore = new Date(now.getTime() - 3600 * 1000);
  const notAfter = new Date(now.getTime() + VALIDITY_MS);
  const caName = name(`keyless emulator CA ${randomBytes(4).toString('hex')}`);
  const caKeyId = keyIdentifier(ca.publicKey);

  const caCert = certificate({
    issuer: caName,
    subject: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension(BASIC_CONSTRAINTS, sequence(boolean(true), smallInteger(0)), true),
      extension(KEY_USAGE, namedBits([KEY_CERT_SIGN, CRL_SIGN]), true),
      extension(SUBJECT_KEY_ID, octetString(caKeyId)),
    ],
  });
  const leafCert = certificate({
    issuer: caName,
    subject: name('127.0.0.1'),
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension(BASIC_CONSTRAINTS, sequence(), true),
      extension(KEY_USAGE, namedBits([DIGITAL_SIGNATURE]), true),
      extension(EXT_KEY_USAGE, sequence(objectIdentifier(SERVER_AUTH))),
      extension(
        SUBJECT_ALT_NAME,
        sequence(
          implicit(2, Buffer.from('localhost')),
          implicit(7, Buffer.from([127, 0, 0, 1])),
          implicit(7, Buffer.from([...Array(15).fill(0), 1])),
        ),
      ),
      extension(SUBJECT_KEY_ID, octetString(keyIdentifier(leaf.publicKey))),
      extension(AUTHORITY_KEY_ID, sequence(implicit(0, caKeyId))),
    ],
  });
  return {
    caPem: pem('CERTIFICATE', caCert),
    certPem: pem('CERTIFICATE', leafCert),
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function certificate(options: {
  issuer: Buffer;
  subject: Buffer;
  publicKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}): Buffer {
  const algorithm = sequence(objectIdentifier(ECDSA_WITH_SHA256));
  // A positive serial of at most 20 octets (RFC 5280 §4.1.2.2).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    algorithm,
    options.issuer,
    sequence(time(options.notBefore), time(options.notAfter)),
    options.subject,
    options.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...options.extensions)),
  );
  // node:crypto signs EC keys in DER (Ecdsa-Sig-Value), the form X.509 wants.
  const signature = sign('sha256', tbs, options.signingKey);
  return sequence(tbs, algorithm, bitString(signature));
}

function name(commonName: string): Buffer {
  return sequence(
    set(sequence(objectIdentifier(ORGANIZATION), utf8String(ORGANIZATION_NAME))),
    set(sequence(objectIdentifier(COMMON_NAME), utf8String(commonName))),
  );
}

function extension(oid: string, value: Buffer, critical = false): Buffer {
  return critical
    ? sequence(objectIdentifier(oid), boolean(true), octetString(value))
    : sequence(objectIdentifier(oid), octetString(value));
}

/** SHA-1 of the public key bits (RFC 5280 §4.2.1.2, method 1). */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // For a P-256 key the BIT STRING is the last 66 bytes: tag, length, unused-bits byte, 65-byte point.
  return createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest();
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
