import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ConsumerGroups } from '@tessera/contracts';
import { CONSUMER_LAG_METRIC } from '@tessera/platform-kafka';

/**
 * The deployment descriptions (Dockerfile + .dockerignore, docker-compose.yml and its Podman
 * override, k8s/) checked against the services as `npm start` runs them (scripts/lib/services.mjs),
 * the variables the services actually read (the *.config.ts files), the consumer groups of
 * libs/contracts and the metrics the services export. Every rendered Kubernetes object is validated
 * against the Kubernetes API's JSON schemas and the CRD schemas that are published as packages
 * (tools/platform/k8s-schemas.mjs). `npm run compose:check` runs the compose file for real.
 */

const root = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

interface ServiceSpec {
  readonly name: string;
  readonly port: number;
  readonly database: string;
}

/** scripts/lib/services.mjs is ESM (not importable from this CommonJS test): read its literal table. */
function servicesOfScripts(): ServiceSpec[] {
  const rows = [
    ...read('scripts/lib/services.mjs').matchAll(/\{ name: '([a-z-]+)', port: (\d+), database: '([a-z_]+)'/g),
  ];
  return rows.map(([, name, port, database]) => ({ name: name, port: Number(port), database: database }));
}

/** Every environment variable some config namespace declares (`NAME: z...` in a *.config.ts). */
function declaredVariables(): Set<string> {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(path);
      else if (entry.name.endsWith('.config.ts')) files.push(path);
    }
  };
  walk('apps');
  walk('libs');
  return new Set(
    files.flatMap((file) => [...read(file).matchAll(/^\s+([A-Z][A-Z0-9_]+):\s/gm)].map((m) => m[1])),
  );
}

const SERVICES = servicesOfScripts();
const exchange = SERVICES.find((s) => s.name === 'exchange')!;
const DECLARED = declaredVariables();
/** Read by Node itself, not by a config namespace. */
const NODE_VARIABLES = new Set(['NODE_OPTIONS']);
const REGION_FILES = readdirSync(join(root, 'deploy/demo-region')).filter((f) => f.endsWith('.yaml'));

// ------------------------------------------------------------------ compose types (the parts we read)
interface ComposeService {
  readonly build?: { readonly args?: Record<string, unknown> };
  readonly image?: string;
  readonly environment?: Record<string, string>;
  readonly ports?: string[];
  readonly volumes?: string[];
  readonly depends_on?: Record<string, { condition: string }>;
  readonly healthcheck?: { readonly test?: string[]; readonly disable?: boolean };
  readonly command?: string[];
  readonly init?: boolean;
}

// ------------------------------------------------------------------ k8s types (the parts we read)
interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef?: { name: string; key: string } };
}
interface Container {
  readonly name: string;
  readonly image: string;
  readonly env?: EnvVar[];
  readonly envFrom?: { configMapRef?: { name: string } }[];
  readonly ports?: { name: string; containerPort: number }[];
  readonly args?: string[];
  readonly readinessProbe?: { httpGet?: { path: string; port: string } };
  readonly volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Volume {
  readonly name: string;
  readonly configMap?: { name: string };
  readonly secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] };
}
interface PodSpec {
  readonly containers: Container[];
  readonly volumes?: Volume[];
}
interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly spec?: {
    readonly selector?: { readonly matchLabels?: Record<string, string> } & Record<string, unknown>;
    readonly template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
    readonly scaleTargetRef?: { readonly name: string; readonly kind?: string };
    readonly maxReplicaCount?: number;
    readonly minReplicaCount?: number;
    readonly triggers?: { type: string; metadata: Record<string, string> }[];
    readonly podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: LabelExpression[] };
    readonly policyTypes?: string[];
    readonly ingress?: PolicyRule[];
    readonly egress?: PolicyRule[];
    readonly backup?: {
      readonly retentionPolicy?: string;
      readonly barmanObjectStore?: {
        readonly destinationPath: string;
        readonly s3Credentials?: Record<string, { name: string; key: string }>;
        readonly wal?: Record<string, unknown>;
      };
    };
    readonly cluster?: { readonly name: string };
    readonly schedule?: string;
    readonly ports?: { port: number; targetPort: string }[];
    readonly minAvailable?: number;
    readonly bootstrap?: { initdb?: { postInitSQL?: string[] } };
  };
  readonly data?: Record<string, string>;
  readonly stringData?: Record<string, string>;
}

interface LabelExpression {
  readonly key: string;
  readonly operator: string;
  readonly values?: string[];
}
interface PolicyPeer {
  readonly podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: LabelExpression[] };
  readonly namespaceSelector?: unknown;
  readonly ipBlock?: { cidr: string };
}
interface PolicyRule {
  readonly from?: PolicyPeer[];
  readonly to?: PolicyPeer[];
  readonly ports?: { port: number; endPort?: number; protocol: string }[];
}

function parseDocuments(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** What `kubectl apply -k k8s/` would create, resolved from the kustomizations' resource lists. */
function kustomizeResources(dir: string): K8sObject[] {
  const k = parse(read(`${dir}/kustomization.yaml`)) as { resources: string[] };
  return k.resources.flatMap((resource) =>
    existsSync(join(root, dir, resource, 'kustomization.yaml'))
      ? kustomizeResources(`${dir}/${resource}`)
      : parseDocuments(read(`${dir}/${resource}`)),
  );
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in k8s/`);
  return found;
}

const envOf = (container: Container): Map<string, EnvVar> =>
  new Map((container.env ?? []).map((e) => [e.name, e]));

/** `"${HOST_PORT_X:-8082}:8082"` -> { host: 8082, container: 8082 } (the default host port). */
function hostPortDefault(mapping: string): { host: number; container: number } | null {
  const match = /^(?:127\.0\.0\.1:)?\$\{HOST_PORT_[A-Z]+:-(\d+)\}:(\d+)$/.exec(mapping);
  return match === null ? null : { host: Number(match[1]), container: Number(match[2]) };
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };

  it.each(SERVICES)(
    'runs $name on its port and database, after init, with the shared platform env',
    (service) => {
      const s = compose.services[service.name];
      expect(s).toBeDefined();
      expect(s.build?.args).toEqual({ SERVICE: service.name, HTTP_PORT: service.port });
      expect(s.image).toBe(`tessera/${service.name}:\${TESSERA_TAG:-dev}`);
      expect(s.environment).toMatchObject({
        HTTP_PORT: String(service.port),
        DB_NAME: service.database,
        PGHOST: 'postgres',
      });
      // Host port movable (HOST_PORT_*: compose:check publishes beside a running `npm start`).
      expect(s.ports?.map(hostPortDefault)).toContainEqual({ host: service.port, container: service.port });
      expect(s.depends_on?.['init']).toEqual({ condition: 'service_completed_successfully' });
      for (const infra of ['postgres', 'redis', 'kafka'])
        expect(s.depends_on?.[infra]).toEqual({ condition: 'service_healthy' });
    },
  );

  it('lets every service verify tokens against the exchange service on the compose network', () => {
    for (const service of SERVICES) {
      expect(compose.services[service.name].environment).toMatchObject({
        AUTH_ISSUER: `http://exchange:${exchange.port}`,
        AUTH_JWKS_URL: `http://exchange:${exchange.port}/.well-known/jwks.json`,
      });
    }
  });

  it('init creates the topics and migrates every service database with that service entry point', () => {
    const script = compose.services['init'].command!.join('\n');
    expect(script).toContain('node dist/tools/platform/init.js');
    for (const service of SERVICES) {
      expect(script).toMatch(
        new RegExp(`DB_NAME=${service.database} +node dist/apps/${service.name}/src/main.js migrate`),
      );
    }
  });

  it('wires the exchange: upstream services, region files in the image, demo key mounted read-only, healthcheck', () => {
    const s = compose.services['exchange'];
    const env = s.environment!;
    const urlOf = (name: string): string => `http://${name}:${SERVICES.find((x) => x.name === name)!.port}`;
    expect(env['EXCHANGE_MPI_URL']).toBe(urlOf('mpi'));
    expect(env['EXCHANGE_REGISTRY_URL']).toBe(urlOf('document-registry'));
    expect(env['EXCHANGE_CONSENT_URL']).toBe(urlOf('consent'));
    // Host clients (tools/exchange-client) call 127.0.0.1:8080 and sign aud = <that>/auth/token.
    expect(env['EXCHANGE_PUBLIC_BASE_URL']).toBe(
      `\${EXCHANGE_PUBLIC_BASE_URL:-http://127.0.0.1:${exchange.port}}`,
    );

    const keyMount = s
      .volumes!.map((v) => v.split(':'))
      .find(([, target]) => target === env['EXCHANGE_SIGNING_KEY_FILE']);
    expect(keyMount).toEqual([
      './deploy/demo-region/keys/exchange-signing.private.jwk',
      env['EXCHANGE_SIGNING_KEY_FILE'],
      'ro',
    ]);
    expect(existsSync(join(root, keyMount![0]))).toBe(true);

    expect(s.healthcheck?.test?.join(' ')).toContain(`http://127.0.0.1:${exchange.port}/health`);
    for (const upstream of ['mpi', 'consent', 'document-registry']) {
      expect(s.depends_on?.[upstream]).toEqual({ condition: 'service_healthy' });
    }
  });

  it('points every *_FILE of the services at a file the image carries (deploy/demo-region/*.yaml) or a mount', () => {
    for (const service of SERVICES) {
      const s = compose.services[service.name];
      const mounted = new Set((s.volumes ?? []).map((v) => v.split(':')[1]));
      for (const [name, value] of Object.entries(s.environment ?? {})) {
        if (!name.endsWith('_FILE')) continue;
        if (mounted.has(value)) continue;
        const match = /^\/app\/deploy\/demo-region\/([a-z-]+\.yaml)$/.exec(value);
        expect({ name, inImage: match !== null && REGION_FILES.includes(match[1]) }).toEqual({
          name,
          inImage: true,
        });
      }
    }
  });

  it('opens the gateway MLLP port without authentication only explicitly, published on loopback', () => {
    const gateway = compose.services['interop-gateway'];
    expect(gateway.environment).toMatchObject({
      MLLP_HOST: '${MLLP_HOST:-0.0.0.0}',
      MLLP_SHARED_PORT_UNAUTHENTICATED: 'true',
    });
    expect(gateway.ports).toContain('127.0.0.1:${HOST_PORT_MLLP:-2575}:2575');
  });

  it('publishes every host port through a HOST_PORT_* variable, each a different one', () => {
    const mappings = Object.values(compose.services).flatMap((svc) => svc.ports ?? []);
    expect(mappings.filter((m) => hostPortDefault(m) === null)).toEqual([]);
    const variables = mappings.map((m) => /HOST_PORT_[A-Z]+/.exec(m)![0]);
    expect(new Set(variables).size).toBe(variables.length);
    // scripts/compose-check.mjs moves each of them; a port it does not know would collide with npm start.
    const script = read('scripts/compose-check.mjs');
    for (const variable of variables) expect(script).toMatch(new RegExp(`${variable}: \\d+`));
  });

  it('works under podman-compose too: an init process, shell-form healthchecks without exec-form quoting', () => {
    for (const service of [...SERVICES.map((s) => s.name), 'init']) {
      expect({ service, init: compose.services[service].init }).toEqual({ service, init: true });
    }
    for (const [name, svc] of Object.entries(compose.services)) {
      const test = svc.healthcheck?.test;
      if (test === undefined) continue;
      // podman-compose 1.0.3 re-quotes exec-form arrays and breaks on quotes and parentheses.
      if (test[0] === 'CMD') expect({ name, plain: test.slice(1).every((a) => !/["'()]/.test(a)) }).toEqual({ name, plain: true });
      else expect({ name, form: test[0] }).toEqual({ name, form: 'CMD-SHELL' });
    }
  });

  describe('the Podman override (deploy/containers/compose.podman.yml)', () => {
    const override = parse(read('deploy/containers/compose.podman.yml')) as {
      services: Record<string, { image?: string; environment?: Record<string, string> }>;
    };

    it('swaps the infrastructure images for ones built here from Debian packages and Maven Central', () => {
      const swapped = Object.entries(override.services).filter(([, svc]) => svc.image !== undefined);
      expect(swapped.map(([name]) => name).sort()).toEqual(['kafka', 'postgres', 'redis']);
      for (const [name, svc] of swapped) {
        expect(Object.keys(svc)).toEqual(['image']);
        expect(svc.image).toMatch(new RegExp(`^localhost/tessera/${name}:`));
        // The same version as the registry image it stands in for.
        expect(svc.image!.split(':')[1]).toBe(compose.services[name].image!.split(':')[1]);
        expect(existsSync(join(root, `deploy/containers/${name}/Containerfile`))).toBe(true);
        expect(read('scripts/compose-check.mjs')).toContain(`'${svc.image!}'`);
      }
    });

    it('restates every empty-default variable (podman-compose 1.0.3 leaves ${VAR:-} as text), nothing else', () => {
      for (const [name, svc] of Object.entries(compose.services)) {
        const emptyDefaults = Object.entries(svc.environment ?? {})
          .filter(([, value]) => /\$\{[A-Z0-9_]+:-\}/.test(String(value)))
          .map(([variable]) => variable);
        const restated = override.services[name]?.environment ?? {};
        expect({ name, restated: Object.keys(restated).sort() }).toEqual({ name, restated: emptyDefaults.sort() });
        for (const variable of emptyDefaults) expect(restated[variable]).toBe(`\${${variable}}`);
      }
    });
  });

  it('sets only variables a config namespace declares', () => {
    for (const service of [...SERVICES.map((s) => s.name), 'init']) {
      const unknown = Object.keys(compose.services[service].environment ?? {}).filter(
        (v) => !DECLARED.has(v),
      );
      expect({ service, unknown }).toEqual({ service, unknown: [] });
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = read('Dockerfile');

  /** Docker's rule: the last matching pattern wins; a pattern also matches everything under a matched directory. */
  function excluded(path: string): boolean {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const toRegExp = (glob: string): RegExp =>
      new RegExp(
        `^${glob
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '(?:.*/)?')
          .replace(/\*/g, '[^/]*')}$`,
      );
    const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let result = false;
    for (const raw of patterns) {
      const negated = raw.startsWith('!');
      const re = toRegExp(negated ? raw.slice(1) : raw);
      if (prefixes.some((p) => re.test(p))) result = !negated;
    }
    return result;
  }

  it('ships the region YAML files to /app/deploy/demo-region and never the private keys', () => {
    expect(dockerfile).toMatch(
      /^COPY --chown=node:node deploy\/demo-region\/\*\.yaml \.\/deploy\/demo-region\/$/m,
    );
    expect(dockerfile).not.toMatch(/^COPY .*keys/m);
    expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
    for (const file of REGION_FILES)
      expect({ file, excluded: excluded(`deploy/demo-region/${file}`) }).toEqual({ file, excluded: false });
    for (const key of readdirSync(join(root, 'deploy/demo-region/keys'))) {
      expect({ key, excluded: excluded(`deploy/demo-region/keys/${key}`) }).toEqual({ key, excluded: true });
    }
    expect(excluded('deploy/kafka/kafka.sh')).toBe(true);
    expect(excluded('apps/exchange/src/main.ts')).toBe(false);
    expect(excluded('node_modules/yaml/package.json')).toBe(true);
  });

  it('builds and runs on the Node.js version package.json pins for npm start / npm test', () => {
    const pkg = JSON.parse(read('package.json')) as {
      engines: { node: string };
      tessera: { node: { version: string } };
    };
    const pinned = pkg.tessera.node.version;
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:(\S+)$/m);
    const image = /^ARG NODE_IMAGE=node:(\S+)$/m.exec(dockerfile)![1];
    expect(image).toBe(`${pinned}-bookworm-slim`);
    expect([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual([
      '${NODE_IMAGE}',
      '${NODE_IMAGE}',
    ]);
    expect(pkg.engines.node).toBe(`>=${pinned.split('.')[0]}`);
  });

  it('names every service in its SERVICE check and defaults to the exchange port', () => {
    const line = /build arg SERVICE is required: ([a-z|-]+)/.exec(dockerfile)![1];
    expect(line.split('|').sort()).toEqual(SERVICES.map((s) => s.name).sort());
    expect(dockerfile).toMatch(new RegExp(`^ARG HTTP_PORT=${exchange.port}$`, 'm'));
  });
});

describe('k8s/ (kustomize: base + the demo-region overlay)', () => {
  const OVERLAY = 'k8s/overlays/demo-region';
  const objects = kustomizeResources(OVERLAY);
  const base = kustomizeResources('k8s/base');
  const platformEnv = find(objects, 'ConfigMap', 'tessera-platform-env').data!;
  const region = find(objects, 'ConfigMap', 'tessera-region');
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  /** The Deployments running a service's image (the gateway runs as two: its mllp and mapper roles). */
  const deploymentsOf = (name: string): K8sObject[] =>
    deployments.filter((d) => d.spec!.template!.metadata?.labels?.['app.kubernetes.io/name'] === name);
  const podLabels = (d: K8sObject): Record<string, string> => d.spec!.template!.metadata!.labels!;
  const matches = (
    selector: { matchLabels?: Record<string, string>; matchExpressions?: LabelExpression[] } | undefined,
    labels: Record<string, string>,
  ): boolean =>
    selector !== undefined &&
    Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
    (selector.matchExpressions ?? []).every((e) =>
      e.operator === 'In' ? (e.values ?? []).includes(labels[e.key] ?? '') : e.operator === 'Exists' ? e.key in labels : false,
    );

  it.each(SERVICES)('has Deployments, a Service and PDBs for $name on its port and database', (service) => {
    const own = deploymentsOf(service.name);
    expect(own.length).toBeGreaterThan(0);
    for (const deployment of own) {
      const [container] = deployment.spec!.template!.spec.containers;
      expect(container.image).toBe(`tessera/${service.name}`);
      expect(container.ports).toContainEqual({ name: 'http', containerPort: service.port, protocol: 'TCP' });
      expect(container.envFrom).toEqual([{ configMapRef: { name: 'tessera-platform-env' } }]);
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
      const env = envOf(container);
      expect(env.get('HTTP_PORT')?.value).toBe(String(service.port));
      expect(env.get('DB_NAME')?.value).toBe(service.database);
      expect(env.get('PGPASSWORD')?.valueFrom?.secretKeyRef).toEqual({
        name: 'tessera-postgres-credentials',
        key: 'password',
      });
      const pdb = objects.find(
        (o) => o.kind === 'PodDisruptionBudget' && matches(o.spec!.selector, podLabels(deployment)),
      );
      expect({ deployment: deployment.metadata.name, minAvailable: pdb?.spec!.minAvailable }).toEqual({
        deployment: deployment.metadata.name,
        minAvailable: 1,
      });
    }
    expect(find(objects, 'Service', service.name).spec!.ports).toContainEqual({
      name: 'http',
      port: service.port,
      targetPort: 'http',
      protocol: 'TCP',
    });
  });

  it('runs the gateway roles as separate Deployments: MLLP listeners with the Services, the mapper apart', () => {
    const roles = deploymentsOf('interop-gateway').map((d) => [
      d.metadata.name,
      envOf(d.spec!.template!.spec.containers[0]).get('GATEWAY_ROLES')?.value,
    ]);
    expect(roles.sort()).toEqual([
      ['interop-gateway-mapper', 'mapper'],
      ['interop-gateway-mllp', 'mllp'],
    ]);
    const mapper = find(objects, 'Deployment', 'interop-gateway-mapper').spec!.template!;
    expect(mapper.spec.containers[0].ports!.map((p) => p.name)).toEqual(['http']);
    expect(mapper.spec.volumes!.some((v) => v.secret !== undefined)).toBe(false);
    for (const name of ['interop-gateway', 'interop-gateway-mllp']) {
      const selector = find(objects, 'Service', name).spec!.selector as Record<string, string>;
      expect(selector['tessera.io/gateway-role']).toBe('mllp');
    }
  });

  it('retags every service image in the overlay', () => {
    const images = (parse(read(`${OVERLAY}/kustomization.yaml`)) as { images: { name: string }[] }).images.map(
      (i) => i.name,
    );
    expect(images.sort()).toEqual(SERVICES.map((s) => `tessera/${s.name}`).sort());
  });

  it('creates and migrates every service database', () => {
    const sql = find(objects, 'Cluster', 'tessera-pg').spec!.bootstrap!.initdb!.postInitSQL!;
    const script = find(objects, 'Job', 'tessera-init').spec!.template!.spec.containers[0].args!.join('\n');
    for (const service of SERVICES) {
      expect(sql).toContain(`CREATE DATABASE ${service.database} OWNER tessera`);
      expect(script).toMatch(
        new RegExp(`DB_NAME=${service.database} +node dist/apps/${service.name}/src/main.js migrate`),
      );
    }
  });

  it('lets every service verify tokens against the exchange Service', () => {
    expect(platformEnv['AUTH_ISSUER']).toBe(`http://exchange:${exchange.port}`);
    expect(platformEnv['AUTH_JWKS_URL']).toBe(`http://exchange:${exchange.port}/.well-known/jwks.json`);
  });

  it('keeps the region data out of the base: only the demo overlay brings tessera-region', () => {
    expect(base.some((o) => o.kind === 'ConfigMap' && o.metadata.name === 'tessera-region')).toBe(false);
    expect(base.some((o) => o.kind === 'Namespace')).toBe(true);
  });

  it('carries exactly deploy/demo-region/*.yaml in the tessera-region ConfigMap (regenerate: node k8s/demo-region-configmap.mjs)', () => {
    expect(Object.keys(region.data!).sort()).toEqual([...REGION_FILES].sort());
    for (const file of REGION_FILES)
      expect({ file, same: region.data![file] === read(`deploy/demo-region/${file}`) }).toEqual({
        file,
        same: true,
      });
  });

  it('mounts what every *_FILE variable names: region files from the ConfigMap, keys and certificates from Secrets', () => {
    for (const deployment of deployments) {
      const pod = deployment.spec!.template!.spec;
      const container = pod.containers[0];
      for (const variable of container.env ?? []) {
        if (!variable.name.endsWith('_FILE')) continue;
        const path = variable.value!;
        const mount = container.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`));
        expect({ variable: variable.name, mounted: mount?.readOnly }).toEqual({
          variable: variable.name,
          mounted: true,
        });
        const volume = pod.volumes!.find((v) => v.name === mount!.name)!;
        const file = path.slice(mount!.mountPath.length + 1);
        if (volume.configMap) {
          expect(volume.configMap.name).toBe('tessera-region');
          expect(Object.keys(region.data!)).toContain(file);
        } else {
          expect(volume.secret?.items?.map((i) => i.path)).toContain(file);
        }
      }
    }
  });

  it('configures the exchange: upstream Services, region files, signing key Secret readable by node only', () => {
    const pod = find(objects, 'Deployment', 'exchange').spec!.template!.spec;
    const env = envOf(pod.containers[0]);
    const urlOf = (name: string): string => `http://${name}:${SERVICES.find((x) => x.name === name)!.port}`;
    expect(env.get('EXCHANGE_MPI_URL')?.value).toBe(urlOf('mpi'));
    expect(env.get('EXCHANGE_REGISTRY_URL')?.value).toBe(urlOf('document-registry'));
    expect(env.get('EXCHANGE_CONSENT_URL')?.value).toBe(urlOf('consent'));
    expect(env.get('EXCHANGE_PUBLIC_BASE_URL')?.value).toBe(urlOf('exchange'));
    for (const v of [
      'EXCHANGE_CLIENTS_FILE',
      'EXCHANGE_REGION_POLICY_FILE',
      'EXCHANGE_INSTITUTIONS_FILE',
      'EXCHANGE_SIGNING_KEY_FILE',
    ]) {
      expect(env.get(v)?.value).toMatch(/^\/etc\/tessera\//);
    }
    const secretVolume = pod.volumes!.find((v) => v.secret !== undefined)!;
    expect(secretVolume.secret!.defaultMode).toBe(0o440);

    // The Secret itself is documented (secrets.example.yaml) but never applied by kustomize.
    const examples = parseDocuments(read('k8s/base/secrets.example.yaml'));
    const example = find(examples, 'Secret', secretVolume.secret!.secretName);
    expect(Object.keys(example.stringData!)).toEqual(secretVolume.secret!.items!.map((i) => i.key));
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
  });

  it('binds the MLLP port off loopback only with TLS client certificates, from a documented Secret', () => {
    const pod = find(objects, 'Deployment', 'interop-gateway-mllp').spec!.template!.spec;
    const env = envOf(pod.containers[0]);
    expect(env.get('MLLP_HOST')?.value).toBe('0.0.0.0');
    expect(env.get('MLLP_SHARED_TLS')?.value).toBe('true');
    for (const d of deployments)
      expect(envOf(d.spec!.template!.spec.containers[0]).has('MLLP_SHARED_PORT_UNAUTHENTICATED')).toBe(false);
    const secretVolume = pod.volumes!.find((v) => v.secret?.secretName === 'tessera-mllp-tls')!;
    expect(secretVolume.secret!.defaultMode).toBe(0o440);
    for (const v of ['MLLP_TLS_CERT_FILE', 'MLLP_TLS_KEY_FILE', 'MLLP_TLS_CA_FILE'])
      expect(env.get(v)?.value).toMatch(/^\/etc\/tessera\/mllp-tls\//);
    const examples = parseDocuments(read('k8s/base/secrets.example.yaml'));
    const example = find(examples, 'Secret', 'tessera-mllp-tls');
    expect(Object.keys(example.stringData!)).toEqual(secretVolume.secret!.items!.map((i) => i.key));
  });

  describe('autoscaling', () => {
    const scaled = objects.filter((o) => o.kind === 'ScaledObject');
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    const partitions = Number(platformEnv['KAFKA_TOPIC_PARTITIONS']);
    /** The Deployment that runs a consumer group (the gateway's mapper role holds the gateway's group). */
    const deploymentOfGroup = (group: string): string => {
      if (group === ConsumerGroups.exchangeNotify.id) return 'exchange-notify';
      const service = group.split('.')[0];
      return service === 'interop-gateway' ? 'interop-gateway-mapper' : service;
    };
    const lagQuery = (o: K8sObject): string =>
      o.spec!.triggers!.find((t) => t.type === 'prometheus')?.metadata['query'] ?? '';

    it('gives every Deployment exactly one autoscaler', () => {
      const targets = [...scaled, ...hpas].map((o) => o.spec!.scaleTargetRef!.name).sort();
      expect(targets).toEqual(deployments.map((d) => d.metadata.name).sort());
    });

    it.each(Object.values(ConsumerGroups).filter((g) => g.id !== ConsumerGroups.exchangeConsentCache.id))(
      'scales the Deployment running consumer group $id on its lag, up to the partition count',
      (group) => {
        const target = deploymentOfGroup(group.id);
        const object = scaled.find((o) => o.spec!.scaleTargetRef!.name === target);
        expect({ group: group.id, target, scaledObject: object !== undefined }).toEqual({
          group: group.id,
          target,
          scaledObject: true,
        });
        const query = lagQuery(object!);
        // The metric the services export (libs/platform/kafka), selecting this group.
        expect(query).toContain(`${CONSUMER_LAG_METRIC}{`);
        const selector = /consumer_group(=~?)"([^"]+)"/.exec(query)!;
        const selects =
          selector[1] === '=' ? selector[2] === group.id : new RegExp(`^(?:${selector[2]})$`).test(group.id);
        expect({ group: group.id, selects }).toEqual({ group: group.id, selects: true });
        expect(object!.spec!.maxReplicaCount).toBeLessThanOrEqual(partitions);
        expect(object!.spec!.minReplicaCount).toBeGreaterThanOrEqual(2);
      },
    );
  });

  describe('network policies', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const podsOf = (name: string): Record<string, string> => podLabels(deploymentsOf(name)[0]);
    const admits = (target: Record<string, string>, from: Record<string, string>, port: number): boolean =>
      policies.some(
        (p) =>
          matches(p.spec!.podSelector, target) &&
          (p.spec!.ingress ?? []).some(
            (rule) =>
              (rule.ports ?? []).some((q) => q.port === port || (q.endPort !== undefined && q.port <= port && port <= q.endPort)) &&
              (rule.from ?? []).some((peer) => peer.podSelector !== undefined && peer.namespaceSelector === undefined && matches(peer.podSelector, from)),
          ),
      );
    const allowsEgress = (source: Record<string, string>, to: Record<string, string>, port: number): boolean =>
      policies.some(
        (p) =>
          matches(p.spec!.podSelector, source) &&
          (p.spec!.egress ?? []).some(
            (rule) =>
              (rule.ports ?? []).some((q) => q.port === port) &&
              (rule.to ?? []).some((peer) => peer.podSelector !== undefined && matches(peer.podSelector, to)),
          ),
      );

    it('denies all ingress by default', () => {
      expect(
        policies.some(
          (p) => Object.keys(p.spec!.podSelector ?? {}).length === 0 && p.spec!.policyTypes!.includes('Ingress') && p.spec!.ingress === undefined,
        ),
      ).toBe(true);
    });

    it('lets the exchange reach each upstream it is configured with, and nothing else reach them', () => {
      const env = envOf(find(objects, 'Deployment', 'exchange').spec!.template!.spec.containers[0]);
      for (const variable of ['EXCHANGE_MPI_URL', 'EXCHANGE_REGISTRY_URL', 'EXCHANGE_CONSENT_URL']) {
        const url = new URL(env.get(variable)!.value!);
        const port = Number(url.port);
        expect({ variable, egress: allowsEgress(podsOf('exchange'), podsOf(url.hostname), port) }).toEqual({ variable, egress: true });
        expect({ variable, ingress: admits(podsOf(url.hostname), podsOf('exchange'), port) }).toEqual({ variable, ingress: true });
        expect(admits(podsOf(url.hostname), podsOf('mpi'), port) && url.hostname !== 'mpi').toBe(false);
      }
    });

    it('lets every service reach Postgres, Redis, Kafka and the exchange JWK set, and those admit them', () => {
      const postgres = { 'cnpg.io/cluster': 'tessera-pg' };
      const redis = { 'app.kubernetes.io/name': 'tessera-redis' };
      const kafka = { 'strimzi.io/cluster': 'tessera', 'strimzi.io/broker-role': 'true' };
      for (const d of deployments) {
        const pod = podLabels(d);
        const name = d.metadata.name;
        expect({ name, postgres: allowsEgress(pod, postgres, 5432) && admits(postgres, pod, 5432) }).toEqual({ name, postgres: true });
        expect({ name, redis: allowsEgress(pod, redis, 6379) && admits(redis, pod, 6379) }).toEqual({ name, redis: true });
        expect({ name, kafka: allowsEgress(pod, kafka, 9092) }).toEqual({ name, kafka: true });
        expect({ name, jwks: allowsEgress(pod, podsOf('exchange'), exchange.port) && admits(podsOf('exchange'), pod, exchange.port) }).toEqual({ name, jwks: true });
      }
      // Kafka's own policy is Strimzi's, from the listener's networkPolicyPeers.
      const kafkaCr = find(objects, 'Kafka', 'tessera') as unknown as {
        spec: { kafka: { listeners: { port: number; networkPolicyPeers?: PolicyPeer[] }[] } };
      };
      const plain = kafkaCr.spec.kafka.listeners.find((l) => l.port === 9092)!;
      for (const d of deployments) expect(plain.networkPolicyPeers!.some((peer) => matches(peer.podSelector, podLabels(d)))).toBe(true);
    });

    it('opens MLLP to the hospitals on the listener pods only', () => {
      const mllp = podsOf('interop-gateway');
      const world = policies.filter((p) => (p.spec!.ingress ?? []).some((r) => (r.from ?? []).some((peer) => peer.ipBlock !== undefined)));
      expect(world.map((p) => p.metadata.name)).toEqual(['interop-gateway-mllp-ingress']);
      expect(matches(world[0].spec!.podSelector, { ...mllp, 'tessera.io/gateway-role': 'mllp' })).toBe(true);
      expect(matches(world[0].spec!.podSelector, podLabels(find(objects, 'Deployment', 'interop-gateway-mapper')))).toBe(false);
    });
  });

  it('backs Postgres up for point-in-time recovery: WAL archive, retention, nightly base backups', () => {
    const cluster = find(objects, 'Cluster', 'tessera-pg');
    const backup = cluster.spec!.backup!;
    expect(backup.retentionPolicy).toMatch(/^\d+[dwm]$/);
    expect(backup.barmanObjectStore!.destinationPath).toMatch(/^s3:\/\//);
    expect(backup.barmanObjectStore!.wal).toBeDefined();
    const scheduled = objects.filter((o) => o.kind === 'ScheduledBackup');
    expect(scheduled.map((o) => o.spec!.cluster!.name)).toEqual(['tessera-pg']);
    // The credentials' Secret is documented with exactly the keys the cluster reads.
    const secretNames = new Set(Object.values(backup.barmanObjectStore!.s3Credentials!).map((ref) => ref.name));
    const examples = parseDocuments(read('k8s/base/secrets.example.yaml'));
    for (const name of secretNames) {
      const keys = Object.values(backup.barmanObjectStore!.s3Credentials!).filter((r) => r.name === name).map((r) => r.key);
      expect(Object.keys(find(examples, 'Secret', name).stringData!).sort()).toEqual(keys.sort());
    }
  });

  it('sets only variables a config namespace declares', () => {
    const names = [
      ...Object.keys(platformEnv),
      ...objects
        .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
        .flatMap((o) => o.spec!.template!.spec.containers.flatMap((c) => (c.env ?? []).map((e) => e.name))),
    ];
    expect(names.filter((n) => !DECLARED.has(n) && !NODE_VARIABLES.has(n))).toEqual([]);
  });

  /** What `kubectl apply -k` would send: kubectl's own rendering when installed, else the resolved resources. */
  const rendered = ((): { objects: K8sObject[]; text: string; byKubectl: boolean } => {
    try {
      const text = execFileSync('kubectl', ['kustomize', OVERLAY], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      return { objects: parseDocuments(text), text, byKubectl: true };
    } catch {
      return { objects, text: objects.map((o) => JSON.stringify(o)).join('\n---\n'), byKubectl: false };
    }
  })();

  it('renders to the same objects, all in namespace tessera', () => {
    const key = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;
    expect(rendered.objects.map(key).sort()).toEqual(objects.map(key).sort());
    if (rendered.byKubectl) {
      for (const o of rendered.objects.filter((x) => x.kind !== 'Namespace'))
        expect({ o: key(o), ns: o.metadata.namespace }).toEqual({ o: key(o), ns: 'tessera' });
      expect(find(rendered.objects, 'ConfigMap', 'tessera-region').data).toEqual(region.data);
    }
  });

  it('validates every rendered object against the Kubernetes API schemas and the published CRD schemas', () => {
    const output = execFileSync(process.execPath, [join(root, 'tools/platform/k8s-schemas.mjs')], {
      input: rendered.text,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const results = JSON.parse(output) as { kind: string; name: string; apiVersion: string; result: string; errors?: string }[];
    expect(results).toHaveLength(rendered.objects.length);
    expect(results.filter((r) => r.result === 'invalid')).toEqual([]);
    // Strimzi and CloudNativePG publish their CRD schemas on no registry reachable here: these kinds
    // are checked by the tests above only. Any other kind without a schema fails here.
    expect([...new Set(results.filter((r) => r.result === 'no-schema').map((r) => `${r.apiVersion} ${r.kind}`))].sort()).toEqual([
      'kafka.strimzi.io/v1beta2 Kafka',
      'kafka.strimzi.io/v1beta2 KafkaNodePool',
      'postgresql.cnpg.io/v1 Cluster',
      'postgresql.cnpg.io/v1 ScheduledBackup',
    ]);
    expect(results.filter((r) => r.result === 'valid').map((r) => r.kind)).toEqual(
      expect.arrayContaining(['Deployment', 'ScaledObject', 'NetworkPolicy', 'PodMonitor', 'HorizontalPodAutoscaler']),
    );
  }, 90_000);
});
