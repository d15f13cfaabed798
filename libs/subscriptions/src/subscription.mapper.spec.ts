import type { Subscription } from '@medplum/fhirtypes';
import type { StoredSubscriptionView, SubscriptionProblem, SubscriptionRequest } from './subscription.mapper';
import {
  BACKPORT_SUBSCRIPTION_PROFILE,
  CHANNEL_TYPE_EXTENSION,
  FILTER_CRITERIA_EXTENSION,
  HEARTBEAT_PERIOD_EXTENSION,
  MAX_COUNT_EXTENSION,
  PAYLOAD_CONTENT_EXTENSION,
  SUBSCRIPTION_NAME_EXTENSION,
  TESSERA_CHANNEL_TYPE_SYSTEM,
  TIMEOUT_EXTENSION,
  parseSubscription,
  subscriptionResource,
} from './subscription.mapper';
import { topicByCode } from './topics';

const ADMISSION = 'urn:tessera:subscription-topic:admission';
const SECRET = 'Bearer s3cr3t-synthetic-token';
const STRICT = { allowInsecureLoopback: false };
const DEV = { allowInsecureLoopback: true };

type Json = Record<string, unknown>;

function restHook(overrides: Json = {}): Json {
  return {
    type: 'rest-hook',
    endpoint: 'https://receiver.example.org/hook',
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: PAYLOAD_CONTENT_EXTENSION, valueCode: 'id-only' }] },
    header: [`Authorization: ${SECRET}`],
    ...overrides,
  };
}

const MLLP_TYPE = {
  extension: [
    { url: CHANNEL_TYPE_EXTENSION, valueCoding: { system: TESSERA_CHANNEL_TYPE_SYSTEM, code: 'hl7v2-mllp' } },
  ],
};

function subscription(overrides: Json = {}, filters: unknown[] = ['Encounter?patient=Group/roster-1']): Json {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'Synthetic',
    criteria: ADMISSION,
    _criteria: { extension: filters.map((f) => ({ url: FILTER_CRITERIA_EXTENSION, valueString: f })) },
    channel: restHook(),
    ...overrides,
  };
}

function ok(resource: unknown, options = STRICT): SubscriptionRequest {
  const result = parseSubscription(resource, options);
  if (Array.isArray(result)) throw new Error(`problems: ${JSON.stringify(result)}`);
  return result as SubscriptionRequest;
}

function problems(resource: unknown, options = STRICT): readonly SubscriptionProblem[] {
  const result = parseSubscription(resource, options);
  if (!Array.isArray(result)) throw new Error('expected problems, got a request');
  return result as readonly SubscriptionProblem[];
}

function locations(resource: unknown, options = STRICT): string[] {
  return problems(resource, options).map((p) => p.location);
}

describe('parseSubscription', () => {
  it('reads topic, roster, rest-hook channel, payload content and headers', () => {
    const request = ok(subscription());
    expect(request.topic.code).toBe('admission');
    expect(request.roster).toEqual({ kind: 'group', groupId: 'roster-1' });
    expect(request.classes).toEqual([]);
    expect(request.institutions).toEqual([]);
    expect(request.channel).toEqual({
      type: 'rest-hook',
      endpoint: 'https://receiver.example.org/hook',
      payload: 'id-only',
      headers: [`Authorization: ${SECRET}`],
    });
    expect(request.reason).toBe('Synthetic');
  });

  it('reads the implicit roster and class and institution filters (comma = any of, several filters = all of)', () => {
    const request = ok(
      subscription({}, [
        'Encounter?patient=implicit&class=IMP,emer',
        'Encounter?institution=hosp-a,urn%3Atessera%3Ainstitution%7Chosp-b',
      ]),
    );
    expect(request.roster).toEqual({ kind: 'implicit' });
    expect(request.classes).toEqual(['IMP', 'EMER']);
    expect(request.institutions).toEqual(['hosp-a', 'hosp-b']);
  });

  it('reads heartbeat, timeout, max count, end and name', () => {
    const request = ok(
      subscription({
        end: '2027-01-31T00:00:00Z',
        extension: [{ url: SUBSCRIPTION_NAME_EXTENSION, valueString: 'Ward 3 admissions' }],
        channel: restHook({
          extension: [
            { url: HEARTBEAT_PERIOD_EXTENSION, valueUnsignedInt: 3600 },
            { url: TIMEOUT_EXTENSION, valueUnsignedInt: 30 },
            { url: MAX_COUNT_EXTENSION, valuePositiveInt: 20 },
          ],
        }),
      }),
    );
    expect(request).toMatchObject({
      heartbeatPeriodSeconds: 3600,
      timeoutSeconds: 30,
      maxCount: 20,
      end: '2027-01-31T00:00:00Z',
      name: 'Ward 3 admissions',
    });
  });

  it('accepts the R5 cross-version name extension too', () => {
    const request = ok(
      subscription({
        extension: [
          {
            url: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-Subscription.name',
            valueString: 'n',
          },
        ],
      }),
    );
    expect(request.name).toBe('n');
  });

  it('reads the v2 MLLP channel from the backport channel-type extension', () => {
    const request = ok(
      subscription({
        channel: { type: 'rest-hook', _type: MLLP_TYPE, endpoint: 'mllps://v2.example.org:2575' },
      }),
    );
    expect(request.channel).toEqual({ type: 'hl7v2-mllp', endpoint: 'mllps://v2.example.org:2575' });
  });

  it('accepts a fhirVersion parameter on the payload MIME type', () => {
    expect(
      ok(subscription({ channel: restHook({ payload: 'application/fhir+json; fhirVersion=4.0' }) })).channel
        .type,
    ).toBe('rest-hook');
  });

  describe('endpoints', () => {
    it.each([
      'http://127.0.0.1:8080/hook',
      'http://127.10.0.1/hook',
      'http://localhost:9000/hook',
      'http://[::1]:9000/hook',
    ])('allows http:// to loopback %s only with allowInsecureLoopback', (endpoint) => {
      expect(ok(subscription({ channel: restHook({ endpoint }) }), DEV).channel.endpoint).toBe(endpoint);
      expect(locations(subscription({ channel: restHook({ endpoint }) }), STRICT)).toEqual([
        'Subscription.channel.endpoint',
      ]);
    });

    it.each([
      'http://receiver.example.org/hook',
      'http://10.0.0.8/hook',
      'http://127.0.0.1.nip.io/hook',
      'ftp://x.example/y',
      'not a url',
      42,
    ])('refuses %s even with allowInsecureLoopback', (endpoint) => {
      expect(locations(subscription({ channel: restHook({ endpoint }) }), DEV)).toEqual([
        'Subscription.channel.endpoint',
      ]);
    });

    it('refuses credentials in the URL without repeating them', () => {
      const found = problems(
        subscription({ channel: restHook({ endpoint: 'https://user:pw-synthetic@receiver.example.org/' }) }),
      );
      expect(found).toHaveLength(1);
      expect(found[0]?.location).toBe('Subscription.channel.endpoint');
      expect(JSON.stringify(found)).not.toContain('pw-synthetic');
    });

    it('allows mllp:// to loopback only with allowInsecureLoopback, and requires mllps:// otherwise', () => {
      const mllp = (endpoint: string): Json =>
        subscription({ channel: { type: 'rest-hook', _type: MLLP_TYPE, endpoint } });
      expect(ok(mllp('mllp://127.0.0.1:2575'), DEV).channel.endpoint).toBe('mllp://127.0.0.1:2575');
      expect(locations(mllp('mllp://127.0.0.1:2575'), STRICT)).toEqual(['Subscription.channel.endpoint']);
      expect(locations(mllp('mllp://v2.example.org:2575'), DEV)).toEqual(['Subscription.channel.endpoint']);
    });

    it.each([
      'mllps://v2.example.org',
      'mllps://v2.example.org:0',
      'mllps://v2.example.org:2575/path',
      'https://v2.example.org:2575',
      'mllps://u:p@v2.example.org:1',
    ])('refuses the malformed MLLP endpoint %s', (endpoint) => {
      expect(locations(subscription({ channel: { type: 'rest-hook', _type: MLLP_TYPE, endpoint } }))).toEqual(
        ['Subscription.channel.endpoint'],
      );
    });
  });

  describe('problems name their location', () => {
    it.each<[string, unknown, string[]]>([
      ['not a Subscription', { resourceType: 'Patient' }, ['Subscription.resourceType']],
      ['not an object', 'Subscription', ['Subscription.resourceType']],
      ['no criteria', subscription({ criteria: undefined }), ['Subscription.criteria']],
      [
        'unknown topic',
        subscription({ criteria: 'urn:tessera:subscription-topic:death' }),
        ['Subscription.criteria'],
      ],
      [
        'R4 query criteria',
        subscription({ criteria: 'Encounter?patient=Patient/1' }),
        ['Subscription.criteria'],
      ],
      ['no filters', subscription({}, []), ['Subscription.criteria.extension:filterCriteria']],
      [
        'filter for another resource',
        subscription({}, ['Observation?patient=implicit']),
        [
          'Subscription.criteria.extension:filterCriteria[0]',
          'Subscription.criteria.extension:filterCriteria',
        ],
      ],
      [
        'filter without value',
        subscription({}, [42]),
        [
          'Subscription.criteria.extension:filterCriteria[0]',
          'Subscription.criteria.extension:filterCriteria',
        ],
      ],
      [
        'unknown filter',
        subscription({}, ['Encounter?patient=implicit&status=finished']),
        ['Subscription.criteria.extension:filterCriteria[0]'],
      ],
      [
        'patient given twice',
        subscription({}, ['Encounter?patient=implicit', 'Encounter?patient=Group/a']),
        ['Subscription.criteria.extension:filterCriteria[1]'],
      ],
      [
        'patient not a group',
        subscription({}, ['Encounter?patient=Patient/123']),
        ['Subscription.criteria.extension:filterCriteria[0]'],
      ],
      [
        'two rosters in one filter',
        subscription({}, ['Encounter?patient=Group/a,Group/b']),
        ['Subscription.criteria.extension:filterCriteria[0]'],
      ],
      [
        'empty class',
        subscription({}, ['Encounter?patient=implicit&class=']),
        ['Subscription.criteria.extension:filterCriteria[0]'],
      ],
      [
        'bad class code',
        subscription({}, ['Encounter?patient=implicit&class=I%20MP']),
        ['Subscription.criteria.extension:filterCriteria[0]'],
      ],
      [
        'class on a document topic',
        subscription({ criteria: 'urn:tessera:subscription-topic:new-document' }, [
          'DocumentReference?patient=implicit&class=IMP',
        ]),
        ['Subscription.criteria.extension:filterCriteria[0]'],
      ],
      [
        'foreign institution system',
        subscription({}, ['Encounter?patient=implicit&institution=urn:other|x']),
        ['Subscription.criteria.extension:filterCriteria[0]'],
      ],
      [
        'bad percent-encoding',
        subscription({}, ['Encounter?patient=%E0%A4%A']),
        [
          'Subscription.criteria.extension:filterCriteria[0]',
          'Subscription.criteria.extension:filterCriteria',
        ],
      ],
      ['no channel', subscription({ channel: undefined }), ['Subscription.channel']],
      [
        'websocket channel',
        subscription({ channel: restHook({ type: 'websocket' }) }),
        ['Subscription.channel.type'],
      ],
      [
        'another custom channel',
        subscription({
          channel: restHook({
            _type: {
              extension: [
                { url: CHANNEL_TYPE_EXTENSION, valueCoding: { system: 'http://example.org', code: 'zulip' } },
              ],
            },
          }),
        }),
        ['Subscription.channel.type.extension:customChannelType'],
      ],
      [
        'XML payload',
        subscription({ channel: restHook({ payload: 'application/fhir+xml' }) }),
        ['Subscription.channel.payload'],
      ],
      [
        'no payload content',
        subscription({ channel: restHook({ _payload: undefined }) }),
        ['Subscription.channel.payload.extension:content'],
      ],
      [
        'unknown payload content',
        subscription({
          channel: restHook({
            _payload: { extension: [{ url: PAYLOAD_CONTENT_EXTENSION, valueCode: 'everything' }] },
          }),
        }),
        ['Subscription.channel.payload.extension:content'],
      ],
      [
        'headers on MLLP',
        subscription({
          channel: { type: 'rest-hook', _type: MLLP_TYPE, endpoint: 'mllps://h.example:1', header: ['A: b'] },
        }),
        ['Subscription.channel.header'],
      ],
      [
        'header not a list',
        subscription({ channel: restHook({ header: 'A: b' }) }),
        ['Subscription.channel.header'],
      ],
      [
        'too many headers',
        subscription({ channel: restHook({ header: Array.from({ length: 11 }, (_, i) => `X-H${i}: v`) }) }),
        ['Subscription.channel.header'],
      ],
      [
        'heartbeat too short',
        subscription({
          channel: restHook({ extension: [{ url: HEARTBEAT_PERIOD_EXTENSION, valueUnsignedInt: 5 }] }),
        }),
        ['Subscription.channel.extension:heartbeatPeriod'],
      ],
      [
        'timeout of the wrong type',
        subscription({ channel: restHook({ extension: [{ url: TIMEOUT_EXTENSION, valueString: '30' }] }) }),
        ['Subscription.channel.extension:timeout'],
      ],
      [
        'max count zero',
        subscription({
          channel: restHook({ extension: [{ url: MAX_COUNT_EXTENSION, valuePositiveInt: 0 }] }),
        }),
        ['Subscription.channel.extension:maxCount'],
      ],
      ['end without time zone', subscription({ end: '2027-01-31T00:00:00' }), ['Subscription.end']],
      ['empty reason', subscription({ reason: ' ' }), ['Subscription.reason']],
      [
        'empty name',
        subscription({ extension: [{ url: SUBSCRIPTION_NAME_EXTENSION, valueString: '' }] }),
        ['Subscription.extension[0]'],
      ],
    ])('%s', (_case, resource, expected) => {
      expect(locations(resource)).toEqual(expected);
    });

    it('reports every problem at once', () => {
      const found = locations(
        subscription({
          criteria: 'urn:x',
          end: 'soon',
          channel: restHook({ endpoint: 'http://x.example', payload: 'text/plain' }),
        }),
      );
      expect(found).toEqual([
        'Subscription.criteria',
        'Subscription.channel.endpoint',
        'Subscription.channel.payload',
        'Subscription.end',
      ]);
    });
  });

  describe('headers', () => {
    it('refuses a malformed header naming its index and never its value', () => {
      const found = problems(
        subscription({ channel: restHook({ header: ['X-Ok: fine', `Authorization ${SECRET}`] }) }),
      );
      expect(found.map((p) => p.location)).toEqual(['Subscription.channel.header[1]']);
      expect(JSON.stringify(found)).not.toContain('s3cr3t');
    });

    it('refuses header injection (a line break in the value) without echoing it', () => {
      const found = problems(
        subscription({ channel: restHook({ header: [`Authorization: ${SECRET}\r\nX-Evil: 1`] }) }),
      );
      expect(found.map((p) => p.location)).toEqual(['Subscription.channel.header[0]']);
      expect(JSON.stringify(found)).not.toContain('s3cr3t');
    });

    it('refuses headers the exchange sets itself', () => {
      const found = problems(
        subscription({
          channel: restHook({ header: ['content-type: text/plain', 'X-Tessera-Signature: forged'] }),
        }),
      );
      expect(found.map((p) => p.location)).toEqual([
        'Subscription.channel.header[0]',
        'Subscription.channel.header[1]',
      ]);
      expect(JSON.stringify(found)).not.toContain('forged');
    });
  });
});

describe('subscriptionResource', () => {
  function view(
    request: SubscriptionRequest,
    overrides: Partial<StoredSubscriptionView> = {},
  ): StoredSubscriptionView {
    return { id: 'sub-1', request, status: 'active', eventsSinceSubscriptionStart: 4, ...overrides };
  }

  it('renders the backport profile, topic, filters, channel and its extensions', () => {
    const request = ok(
      subscription(
        {
          end: '2027-01-31T00:00:00Z',
          channel: restHook({
            extension: [
              { url: HEARTBEAT_PERIOD_EXTENSION, valueUnsignedInt: 3600 },
              { url: TIMEOUT_EXTENSION, valueUnsignedInt: 30 },
              { url: MAX_COUNT_EXTENSION, valuePositiveInt: 20 },
            ],
          }),
        },
        ['Encounter?patient=Group/roster-1&class=IMP,EMER&institution=hosp-a'],
      ),
    );
    const resource = subscriptionResource(view(request)) as Subscription & Json;
    expect(resource).toMatchObject({
      resourceType: 'Subscription',
      id: 'sub-1',
      meta: { profile: [BACKPORT_SUBSCRIPTION_PROFILE] },
      status: 'active',
      end: '2027-01-31T00:00:00Z',
      reason: 'Synthetic',
      criteria: ADMISSION,
      _criteria: {
        extension: [
          {
            url: FILTER_CRITERIA_EXTENSION,
            valueString: 'Encounter?patient=Group/roster-1&class=IMP,EMER&institution=hosp-a',
          },
        ],
      },
      channel: {
        type: 'rest-hook',
        endpoint: 'https://receiver.example.org/hook',
        payload: 'application/fhir+json',
        _payload: { extension: [{ url: PAYLOAD_CONTENT_EXTENSION, valueCode: 'id-only' }] },
        extension: [
          { url: HEARTBEAT_PERIOD_EXTENSION, valueUnsignedInt: 3600 },
          { url: TIMEOUT_EXTENSION, valueUnsignedInt: 30 },
          { url: MAX_COUNT_EXTENSION, valuePositiveInt: 20 },
        ],
      },
    });
  });

  it('never returns the headers (they carry the subscriber\u2019s secrets)', () => {
    const resource = subscriptionResource(view(ok(subscription())));
    expect(resource.channel.header).toBeUndefined();
    expect(JSON.stringify(resource)).not.toContain('s3cr3t');
  });

  it('round-trips: what it renders parses back to the same request (headers aside)', () => {
    const request = ok(
      subscription({ extension: [{ url: SUBSCRIPTION_NAME_EXTENSION, valueString: 'n' }] }, [
        'Encounter?patient=implicit&class=EMER',
      ]),
    );
    const again = ok(subscriptionResource(view(request)));
    expect(again).toEqual({ ...request, channel: { ...request.channel, headers: [] } });
  });

  it('renders the MLLP channel with the Tessera custom channel type and the v2 content type', () => {
    const request = ok(
      subscription({
        channel: { type: 'rest-hook', _type: MLLP_TYPE, endpoint: 'mllps://v2.example.org:2575' },
      }),
    );
    const resource = subscriptionResource(view(request)) as Subscription & { channel: Json };
    expect(resource.channel).toMatchObject({
      type: 'rest-hook',
      _type: {
        extension: [
          {
            url: CHANNEL_TYPE_EXTENSION,
            valueCoding: { system: TESSERA_CHANNEL_TYPE_SYSTEM, code: 'hl7v2-mllp' },
          },
        ],
      },
      endpoint: 'mllps://v2.example.org:2575',
      payload: 'x-application/hl7-v2+er7',
    });
    expect(ok(resource).channel).toEqual(request.channel);
  });

  it('carries the error text of a subscription in error, and a default reason when none was given', () => {
    const { reason: _r, ...rest } = ok(subscription());
    const resource = subscriptionResource(
      view(
        { ...rest, topic: topicByCode('discharge')! },
        { status: 'error', error: 'Endpoint unreachable.' },
      ),
    );
    expect(resource).toMatchObject({
      status: 'error',
      error: 'Endpoint unreachable.',
      reason: 'Discharge notifications',
    });
  });
});
