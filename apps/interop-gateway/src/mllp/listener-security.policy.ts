import type { Institution } from '../institutions/institution';
import { addressAllowed, isLoopbackHost, plainAddress } from '../institutions/sender-address.policy';
import type { AuthenticatedSender } from '../ingest/sender.types';

/**
 * How an MLLP listener knows who connects to it. Every listener reachable from other machines
 * authenticates its senders — a TLS client certificate, or (an institution's own port) an allow-list
 * of source addresses; a plain listener is opened on a loopback MLLP_HOST, or off loopback only when
 * an operator explicitly accepts unauthenticated senders (MLLP_SHARED_PORT_UNAUTHENTICATED).
 */
export type ListenerSecurity =
  | { readonly kind: 'tls' }
  | { readonly kind: 'allow-list' }
  | { readonly kind: 'loopback' }
  | { readonly kind: 'unauthenticated' }
  | { readonly kind: 'refused'; readonly reason: string };

export interface ListenerSecuritySettings {
  readonly MLLP_HOST: string;
  readonly MLLP_SHARED_TLS: boolean;
  readonly MLLP_SHARED_PORT_UNAUTHENTICATED: boolean;
}

function plainListener(settings: ListenerSecuritySettings, what: string): ListenerSecurity {
  if (isLoopbackHost(settings.MLLP_HOST)) return { kind: 'loopback' };
  if (settings.MLLP_SHARED_PORT_UNAUTHENTICATED) return { kind: 'unauthenticated' };
  return {
    kind: 'refused',
    reason: `${what} would take unauthenticated connections on ${settings.MLLP_HOST}, which is not a loopback address`,
  };
}

/** The shared port: TLS with MLLP_SHARED_TLS, else plain (loopback, or explicitly unauthenticated). */
export function sharedListenerSecurity(settings: ListenerSecuritySettings): ListenerSecurity {
  return settings.MLLP_SHARED_TLS ? { kind: 'tls' } : plainListener(settings, 'the plain shared port');
}

/**
 * An institution's own port: TLS (feed.tls) or an allow-list (feed.allowedAddresses) anywhere; a
 * plain port without an allow-list follows the shared port's rule, and is refused (not opened) on
 * a non-loopback host unless unauthenticated senders are explicitly accepted.
 */
export function institutionListenerSecurity(
  feed: Pick<Institution['feed'], 'tls' | 'allowedAddresses'>,
  settings: ListenerSecuritySettings,
): ListenerSecurity {
  if (feed.tls) return { kind: 'tls' };
  if (feed.allowedAddresses.length > 0) return { kind: 'allow-list' };
  return plainListener(settings, 'a plain institution port without feed.allowedAddresses');
}

/** One accepted connection as the listener sees it. */
export interface ConnectionFacts {
  readonly remoteAddress: string;
  /** The CN of the verified client certificate (TLS listeners); undefined when it has none or several. */
  readonly certificateName?: string;
}

export type ConnectionVerdict =
  | { readonly accepted: true; readonly sender: AuthenticatedSender }
  | {
      readonly accepted: false;
      /** For the security alert and the log: what was wrong (no secrets, no message content). */
      readonly reason: string;
      readonly cause: 'address' | 'certificate' | 'institution';
      readonly identity?: string;
    };

/**
 * Who is on a new connection, decided before a byte of it is read. `institution` is the current
 * registration of the port's institution (undefined for the shared port); `byCertificate` finds the
 * institution a client certificate names (shared TLS port).
 */
export function authenticateConnection(
  listener: {
    readonly label: string;
    readonly security: Exclude<ListenerSecurity, { kind: 'refused' }>;
    readonly reservedFor?: string;
  },
  institution: Institution | undefined,
  connection: ConnectionFacts,
  byCertificate: (commonName: string) => Institution | undefined,
): ConnectionVerdict {
  const address = plainAddress(connection.remoteAddress);
  const label = listener.label;
  if (listener.reservedFor !== undefined && (institution === undefined || !institution.active)) {
    return {
      accepted: false,
      cause: 'institution',
      reason: `institution "${listener.reservedFor}" of ${label} is no longer registered or active`,
    };
  }
  switch (listener.security.kind) {
    case 'tls':
      return authenticateCertificate(
        listener,
        institution,
        address,
        connection.certificateName,
        byCertificate,
      );
    case 'allow-list':
      if (institution === undefined || !addressAllowed(address, institution.feed.allowedAddresses)) {
        return {
          accepted: false,
          cause: 'address',
          reason: `source address ${address} is not on institution "${listener.reservedFor ?? '?'}"'s allow-list on ${label}`,
          identity: address,
        };
      }
      return {
        accepted: true,
        sender: {
          authentication: 'ip-allow-list',
          identity: address,
          institutionId: institution.id,
          listener: label,
        },
      };
    case 'loopback':
      return {
        accepted: true,
        sender: {
          authentication: 'loopback',
          identity: address,
          ...(listener.reservedFor === undefined ? {} : { institutionId: listener.reservedFor }),
          listener: label,
        },
      };
    case 'unauthenticated':
      return {
        accepted: true,
        sender: {
          authentication: 'none',
          ...(listener.reservedFor === undefined ? {} : { institutionId: listener.reservedFor }),
          listener: label,
        },
      };
  }
}

/**
 * A TLS connection (the certificate already verified against MLLP_TLS_CA_FILE): its CN must be one
 * of the certificate names of the port's institution, or, on the shared port, name exactly one
 * institution. On its own port an institution's allow-list holds too.
 */
function authenticateCertificate(
  listener: { readonly label: string; readonly reservedFor?: string },
  institution: Institution | undefined,
  address: string,
  name: string | undefined,
  byCertificate: (commonName: string) => Institution | undefined,
): ConnectionVerdict {
  if (name === undefined) {
    return {
      accepted: false,
      cause: 'certificate',
      reason: `client certificate without a single CN on ${listener.label}`,
    };
  }
  const identity = `CN=${name}`;
  const owner = listener.reservedFor === undefined ? byCertificate(name) : institution;
  if (owner === undefined || !owner.feed.certificateNames.includes(name)) {
    return {
      accepted: false,
      cause: 'certificate',
      reason:
        listener.reservedFor === undefined
          ? `client certificate ${identity} names no registered institution (feed.certificateNames) on ${listener.label}`
          : `client certificate ${identity} is not one of institution "${listener.reservedFor}"'s certificate names on ${listener.label}`,
      identity,
    };
  }
  const ownPort = listener.reservedFor !== undefined;
  if (
    ownPort &&
    owner.feed.allowedAddresses.length > 0 &&
    !addressAllowed(address, owner.feed.allowedAddresses)
  ) {
    return {
      accepted: false,
      cause: 'address',
      reason: `source address ${address} is not on institution "${owner.id}"'s allow-list on ${listener.label}`,
      identity,
    };
  }
  return {
    accepted: true,
    sender: {
      authentication: 'tls-client-certificate',
      identity,
      institutionId: owner.id,
      listener: listener.label,
    },
  };
}
