# syntax=docker/dockerfile:1.7
# One image recipe for every Tessera service:
#   docker build --build-arg SERVICE=mpi -t tessera/mpi .
# SERVICE: interop-gateway | mpi | consent | document-registry | exchange
#
# The whole workspace is compiled (npm run build -> dist/, tsc + tsc-alias), so
# every image also carries dist/tools/platform/init.js (topic creation) and can
# run `<image> migrate` (apply this service's migrations and exit).
#
# Region data: the demo region's YAML files (deploy/demo-region/*.yaml: institutions,
# clients, consent policy, labeling rules) are copied to /app/deploy/demo-region/, where
# the services' relative defaults (INSTITUTIONS_SEED_FILE, EXCHANGE_CLIENTS_FILE,
# CONSENT_REGION_POLICY_FILE, REGISTRY_LABELING_RULES_FILE, ...) find them. Private keys
# are NOT in the image (.dockerignore excludes deploy/demo-region/keys): the exchange's
# signing key is mounted at run time (EXCHANGE_SIGNING_KEY_FILE; docker-compose.yml,
# k8s/base/exchange.yaml). Kubernetes mounts its own region files from a ConfigMap.

# The base, chosen with a build argument: by default the registry's Node image of the version pinned
# in package.json (`tessera.node.version`), the same runtime as `npm start` / `npm test`
# (scripts/bootstrap.mjs), checked by tools/platform/deployment-manifests.spec.ts. Where no registry
# is reachable, any image with node, npm and the user `node` (uid 1000) serves, e.g. the one
# `npm run compose:check` builds from Debian packages (deploy/containers/node/Containerfile):
#   podman build --build-arg NODE_IMAGE=localhost/tessera/node:24.22.3-bookworm --build-arg SERVICE=mpi ...
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

############################ build ############################
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true NX_DAEMON=false NX_NO_CLOUD=true
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json tsconfig.json ./
COPY scripts ./scripts
COPY libs ./libs
COPY apps ./apps
COPY tools ./tools
# scripts/build.mjs directly: `npm run build` goes through scripts/bootstrap.mjs, which would run
# npm ci a second time (this image's Node is already the pinned one).
RUN node scripts/build.mjs \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -f dist/.tsbuildinfo

############################ runtime ############################
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG HTTP_PORT=8080
RUN test -n "${SERVICE}" || (echo "build arg SERVICE is required: interop-gateway|mpi|consent|document-registry|exchange" >&2; exit 1)

LABEL org.opencontainers.image.title="tessera-${SERVICE}" \
      org.opencontainers.image.description="Tessera regional HIE service: ${SERVICE}"

ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=${HTTP_PORT} \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# Region data only (*.yaml): never the demo private keys under deploy/demo-region/keys/.
COPY --chown=node:node deploy/demo-region/*.yaml ./deploy/demo-region/
RUN test -f "dist/apps/${SERVICE}/src/main.js" \
 || (echo "dist/apps/${SERVICE}/src/main.js missing: unknown SERVICE '${SERVICE}'?" >&2; exit 1)

USER node
# HTTP (the port is also overridable at run time with HTTP_PORT); the gateway
# additionally listens for MLLP on 2575.
EXPOSE ${HTTP_PORT} 2575

# /health is readiness: 200 only when Postgres, Redis and Kafka answer.
HEALTHCHECK --interval=10s --timeout=4s --start-period=40s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/health',{signal:AbortSignal.timeout(3000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# exec: node becomes PID 1 and receives SIGTERM directly (services drain
# consumers and exit 0). Extra arguments are passed on, e.g. `migrate`.
ENTRYPOINT ["/bin/sh", "-c", "exec node --import \"./dist/apps/${SERVICE}/src/instrumentation.js\" \"./dist/apps/${SERVICE}/src/main.js\" \"$@\"", "--"]
CMD []
