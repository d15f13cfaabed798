import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { UpstreamClient, UpstreamStatusError, UpstreamUnavailable } from './upstream.client';

describe('UpstreamClient.json (node:http, keep-alive)', () => {
  let server: Server;
  let base: string;
  let handler: (req: IncomingMessage, body: string, res: ServerResponse) => void;
  const sockets = new Set<Socket>();
  const tokens = { serviceToken: () => Promise.resolve('svc-token') };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => handler(req, body, res));
    });
    server.on('connection', (s: Socket) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => sockets.clear());

  it('sends the service token and encoded path/query, parses JSON, reuses one socket', async () => {
    const seen: Array<{ url?: string; auth?: string; visibility?: string }> = [];
    handler = (req, _body, res) => {
      seen.push({
        url: req.url,
        auth: req.headers.authorization,
        visibility: req.headers['x-tessera-visibility'] as string | undefined,
      });
      res.writeHead(200, { 'content-type': 'application/fhir+json', etag: 'W/"1"' }).end('{"total":2}');
    };
    const client = new UpstreamClient('registry', base, 2_000, tokens);
    const query = new URLSearchParams({ patient: 'E1', _count: '20' });
    const first = await client.json<{ total: number }>({
      path: ['DocumentReference'],
      query,
      headers: { 'x-tessera-visibility': 'v1' },
    });
    const second = await client.json<{ total: number }>({ path: ['Patient', 'a/b', '$timeline'] });
    expect(first.body).toEqual({ total: 2 });
    expect(first.headers.get('etag')).toBe('W/"1"');
    expect(second.status).toBe(200);
    expect(seen).toEqual([
      { url: '/DocumentReference?patient=E1&_count=20', auth: 'Bearer svc-token', visibility: 'v1' },
      { url: '/Patient/a%2Fb/$timeline', auth: 'Bearer svc-token', visibility: undefined },
    ]);
    expect(sockets.size).toBe(1); // kept alive
    client.close();
  });

  it('posts JSON bodies', async () => {
    let got: { type?: string; body?: string } = {};
    handler = (req, body, res) => {
      got = { type: req.headers['content-type'], body };
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    const client = new UpstreamClient('consent', base, 2_000, tokens);
    const answer = await client.json({ method: 'POST', path: ['internal', 'x'], body: { a: 'é' } }, [201]);
    expect(answer).toMatchObject({ status: 201, body: { ok: true } });
    expect(got).toEqual({ type: 'application/json', body: '{"a":"é"}' });
    client.close();
  });

  it('an unexpected status is UpstreamStatusError with the parsed body; bad JSON on 200 is unavailable', async () => {
    handler = (_req, _body, res) =>
      res
        .writeHead(409, { 'content-type': 'application/fhir+json' })
        .end('{"resourceType":"OperationOutcome"}');
    const client = new UpstreamClient('registry', base, 2_000, tokens);
    const error = await client.json({ path: ['x'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamStatusError);
    expect(error).toMatchObject({ status: 409, body: { resourceType: 'OperationOutcome' } });
    handler = (_req, _body, res) => res.writeHead(200).end('not json');
    await expect(client.json({ path: ['x'] })).rejects.toBeInstanceOf(UpstreamUnavailable);
    client.close();
  });

  it('a slow service or a refused connection is UpstreamUnavailable within the timeout', async () => {
    handler = (_req, _body, res) => void setTimeout(() => res.writeHead(200).end('{}'), 1_000);
    const client = new UpstreamClient('mpi', base, 100, tokens);
    const started = Date.now();
    await expect(client.json({ path: ['slow'] })).rejects.toBeInstanceOf(UpstreamUnavailable);
    expect(Date.now() - started).toBeLessThan(900);
    client.close();
    const refused = new UpstreamClient('mpi', 'http://127.0.0.1:1', 1_000, tokens);
    await expect(refused.json({ path: ['x'] })).rejects.toBeInstanceOf(UpstreamUnavailable);
    refused.close();
  });

  it('sends a GET again once when the kept-alive socket was closed by the service', async () => {
    let calls = 0;
    handler = (req, _body, res) => {
      calls += 1;
      // The second request arrives on the kept-alive socket: the service resets it without answering.
      if (calls === 2) req.socket.resetAndDestroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(`{"n":${calls}}`);
    };
    const client = new UpstreamClient('registry', base, 2_000, tokens);
    await client.json({ path: ['a'] });
    expect((await client.json({ path: ['b'] })).body).toEqual({ n: 3 });
    expect(sockets.size).toBe(2);
    // Only once: a second reset of a retried GET is UpstreamUnavailable.
    handler = (req) => {
      calls += 1;
      req.socket.resetAndDestroy();
    };
    await expect(client.json({ path: ['c'] })).rejects.toBeInstanceOf(UpstreamUnavailable);
    client.close();
  });
});
