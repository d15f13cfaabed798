import { institutionSchema } from '../institutions/institution';
import type { Institution } from '../institutions/institution';
import {
  authenticateConnection,
  institutionListenerSecurity,
  sharedListenerSecurity,
} from './listener-security.policy';

const loopback = { MLLP_HOST: '127.0.0.1', MLLP_SHARED_TLS: false, MLLP_SHARED_PORT_UNAUTHENTICATED: false };
const wildcard = { ...loopback, MLLP_HOST: '0.0.0.0' };

function institution(id: string, feed: Record<string, unknown> = {}): Institution {
  return institutionSchema.parse({
    id,
    name: id,
    sendingFacilities: [id.toUpperCase()],
    assigningAuthorities: [
      { namespace: id.toUpperCase(), system: `https://${id}.hospital.example/mrn`, default: true },
    ],
    feed,
  });
}

describe('listener security', () => {
  it('the shared port: TLS when asked, plain on loopback, off loopback only when explicitly unauthenticated', () => {
    expect(sharedListenerSecurity({ ...wildcard, MLLP_SHARED_TLS: true })).toEqual({ kind: 'tls' });
    expect(sharedListenerSecurity(loopback)).toEqual({ kind: 'loopback' });
    expect(sharedListenerSecurity({ ...wildcard, MLLP_SHARED_PORT_UNAUTHENTICATED: true })).toEqual({
      kind: 'unauthenticated',
    });
    expect(sharedListenerSecurity(wildcard)).toMatchObject({ kind: 'refused' });
  });

  it('an institution port: TLS or allow-list anywhere; plain only on loopback or when explicitly opened', () => {
    const feed = (f: Record<string, unknown>) => institution('riverside', { port: 12000, ...f }).feed;
    expect(institutionListenerSecurity(feed({ tls: true }), wildcard)).toEqual({ kind: 'tls' });
    expect(institutionListenerSecurity(feed({ allowedAddresses: ['10.0.0.0/8'] }), wildcard)).toEqual({
      kind: 'allow-list',
    });
    expect(institutionListenerSecurity(feed({}), loopback)).toEqual({ kind: 'loopback' });
    expect(institutionListenerSecurity(feed({}), wildcard)).toMatchObject({ kind: 'refused' });
    expect(
      institutionListenerSecurity(feed({}), { ...wildcard, MLLP_SHARED_PORT_UNAUTHENTICATED: true }),
    ).toEqual({ kind: 'unauthenticated' });
  });
});

describe('authenticateConnection', () => {
  const riverside = institution('riverside', {
    port: 12000,
    tls: true,
    certificateNames: ['riverside-engine'],
  });
  const aurelia = institution('st-aurelia', { port: 12001, allowedAddresses: ['127.0.0.2'] });
  const byCertificate = (name: string) =>
    [riverside, aurelia].find((i) => i.feed.certificateNames.includes(name));

  it('binds a TLS institution port to its institution only with one of its certificate names', () => {
    const listener = {
      label: 'mllp riverside :12000',
      security: { kind: 'tls' as const },
      reservedFor: 'riverside',
    };
    expect(
      authenticateConnection(
        listener,
        riverside,
        { remoteAddress: '10.0.0.1', certificateName: 'riverside-engine' },
        byCertificate,
      ),
    ).toEqual({
      accepted: true,
      sender: {
        authentication: 'tls-client-certificate',
        identity: 'CN=riverside-engine',
        institutionId: 'riverside',
        listener: 'mllp riverside :12000',
      },
    });
    // A certificate of the same CA naming another institution does not open riverside's port.
    expect(
      authenticateConnection(
        listener,
        riverside,
        { remoteAddress: '10.0.0.1', certificateName: 'st-aurelia' },
        byCertificate,
      ),
    ).toMatchObject({ accepted: false, cause: 'certificate', identity: 'CN=st-aurelia' });
    expect(
      authenticateConnection(listener, riverside, { remoteAddress: '10.0.0.1' }, byCertificate),
    ).toMatchObject({
      accepted: false,
      cause: 'certificate',
    });
  });

  it('on a TLS shared port, the certificate names the institution; an unknown name is refused', () => {
    const listener = { label: 'mllp shared :2575', security: { kind: 'tls' as const } };
    expect(
      authenticateConnection(
        listener,
        undefined,
        { remoteAddress: '10.0.0.1', certificateName: 'st-aurelia' },
        byCertificate,
      ),
    ).toMatchObject({ accepted: true, sender: { institutionId: 'st-aurelia', identity: 'CN=st-aurelia' } });
    expect(
      authenticateConnection(
        listener,
        undefined,
        { remoteAddress: '10.0.0.1', certificateName: 'mallory' },
        byCertificate,
      ),
    ).toMatchObject({ accepted: false, cause: 'certificate' });
  });

  it('an allow-listed port takes its addresses only', () => {
    const listener = {
      label: 'mllp st-aurelia :12001',
      security: { kind: 'allow-list' as const },
      reservedFor: 'st-aurelia',
    };
    expect(
      authenticateConnection(listener, aurelia, { remoteAddress: '::ffff:127.0.0.2' }, byCertificate),
    ).toEqual({
      accepted: true,
      sender: {
        authentication: 'ip-allow-list',
        identity: '127.0.0.2',
        institutionId: 'st-aurelia',
        listener: listener.label,
      },
    });
    expect(
      authenticateConnection(listener, aurelia, { remoteAddress: '127.0.0.3' }, byCertificate),
    ).toMatchObject({
      accepted: false,
      cause: 'address',
      identity: '127.0.0.3',
    });
    // The institution was deactivated or removed since the port opened.
    expect(
      authenticateConnection(
        listener,
        { ...aurelia, active: false },
        { remoteAddress: '127.0.0.2' },
        byCertificate,
      ),
    ).toMatchObject({ accepted: false, cause: 'institution' });
  });

  it('a loopback shared port believes MSH-4 (not bound); an unauthenticated one records none', () => {
    expect(
      authenticateConnection(
        { label: 'mllp shared :2575', security: { kind: 'loopback' } },
        undefined,
        { remoteAddress: '127.0.0.1' },
        byCertificate,
      ),
    ).toEqual({
      accepted: true,
      sender: { authentication: 'loopback', identity: '127.0.0.1', listener: 'mllp shared :2575' },
    });
    expect(
      authenticateConnection(
        { label: 'mllp shared :2575', security: { kind: 'unauthenticated' } },
        undefined,
        { remoteAddress: '10.9.9.9' },
        byCertificate,
      ),
    ).toEqual({ accepted: true, sender: { authentication: 'none', listener: 'mllp shared :2575' } });
  });
});
