// The five services as `npm start` and the tests run them: compiled entry, port, database.
export const SERVICES = [
  { name: 'interop-gateway', port: 8081, database: 'tessera_gateway', extra: 'MLLP 127.0.0.1:2575' },
  // The demo region's synthetic persons carry SSNs in the 9xx test range (real deployments: strict).
  { name: 'mpi', port: 8082, database: 'tessera_mpi', env: { MPI_NATIONAL_ID_PROFILE: 'synthetic' } },
  { name: 'consent', port: 8083, database: 'tessera_consent' },
  { name: 'document-registry', port: 8084, database: 'tessera_registry' },
  { name: 'exchange', port: 8080, database: 'tessera_exchange', extra: 'FHIR base http://127.0.0.1:8080/fhir' },
];

export function serviceCommand(name) {
  return ['--import', `./dist/apps/${name}/src/instrumentation.js`, `dist/apps/${name}/src/main.js`];
}

export async function waitHealthy(url, timeoutMs = 90_000, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`exited before it was healthy (last: ${last})`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(3_000) });
      const body = await response.json();
      if (response.status === 200) return body;
      last = JSON.stringify(body.checks ?? body);
    } catch (error) {
      last = error.message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not healthy within ${timeoutMs / 1000} s (last: ${last})`);
}
