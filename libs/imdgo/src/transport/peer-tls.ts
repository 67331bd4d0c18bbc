import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { checkServerIdentity, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { IsBoolean, IsOptional, ValidateBy, type ValidationArguments } from 'class-validator';

type Pem = string | Buffer;

/** Mutual TLS between members. Every member presents `cert` and accepts only peers whose certificate chains to `ca`. */
export interface PeerTlsOptions {
  /** This member's private key, PEM (unencrypted). */
  key: Pem;
  /** This member's certificate, PEM, issued by `ca`; presented both when accepting and when connecting. */
  cert: Pem;
  /** The CA certificate(s), PEM, that peers' certificates must chain to. Replaces Node's public roots. */
  ca: Pem | Pem[];
  /**
   * Whether a member's certificate must name the host it is addressed by (an IP SAN for a member given
   * as an IP, a DNS SAN for a host name), as HTTPS checks: the server's, for the member dialled, and the
   * client's, for the member it speaks as (see NestTcpTransport). Default true. Turn it off to let any
   * certificate of `ca` speak as any member, which is sound only when `ca` issues certificates to cluster
   * members alone.
   */
  verifyHostname?: boolean;
}

/** The class-validator schema of the `tls` option: it checks that each PEM parses, and that key and cert match. */
export class PeerTlsSchema {
  @IsPem('private key') key!: Pem;
  @IsPem('certificate') @MatchesKey() cert!: Pem;
  @IsPem('certificate', { each: true }) ca!: Pem | Pem[];
  @IsOptional() @IsBoolean() verifyHostname?: boolean;
}

/**
 * The server side: TLS 1.3 only (every member runs this code) and a client certificate of `ca` required,
 * so a connection that cannot show one never reaches Nest.
 */
export function serverTlsOptions(tls: PeerTlsOptions, handshakeTimeoutMs: number): TlsOptions {
  return {
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    minVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** The client side: the server must chain to `ca` and, unless turned off, be named for the member's host. */
export function clientTlsOptions(tls: PeerTlsOptions): ConnectionOptions {
  return {
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: true,
    // Node sends no SNI to an IP address but still checks the name against the IP SANs; the chain to
    // `ca` is verified either way.
    checkServerIdentity: tls.verifyHostname === false ? () => undefined : checkServerIdentity,
  };
}

function IsPem(kind: 'certificate' | 'private key', options?: { each: boolean }): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPem',
      validator: {
        validate: (value: unknown) =>
          (kind === 'certificate' ? certificate(value) : privateKey(value)) !== null,
        defaultMessage: () => `must be a PEM ${kind} (string or Buffer)`,
      },
    },
    options,
  );
}

function MatchesKey(): PropertyDecorator {
  return ValidateBy({
    name: 'matchesKey',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const cert = certificate(value);
        const key = privateKey((args?.object as Partial<PeerTlsOptions> | undefined)?.key);
        // A key or cert that does not parse has its own error.
        return cert === null || key === null || cert.checkPrivateKey(key);
      },
      defaultMessage: () => 'is not the certificate of tls.key',
    },
  });
}

function certificate(value: unknown): X509Certificate | null {
  return isPem(value) ? attempt(() => new X509Certificate(value)) : null;
}

function privateKey(value: unknown): KeyObject | null {
  return isPem(value) ? attempt(() => createPrivateKey(value)) : null;
}

function isPem(value: unknown): value is Pem {
  return typeof value === 'string' || Buffer.isBuffer(value);
}

function attempt<T>(parse: () => T): T | null {
  try {
    return parse();
  } catch {
    return null;
  }
}
