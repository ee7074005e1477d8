# syntax=docker/dockerfile:1
# One image for every mailroom role; the command picks it:
#   docker run mailroom migrate | worker | serve (the default) | status | ...
# The CLI runs its TypeScript through tsx, a production dependency, so there is no
# compile step: the build stage installs everything and typechecks, and the run
# stage gets production dependencies plus the sources that typechecked.
# Not built on CI (no Docker engine there); see docs/deploy.md.

ARG NODE_IMAGE=node:24-slim

# --- build: every dependency, and the project must typecheck (as CI's `npx tsc --noEmit`).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc --noEmit

# --- prod-deps: the lockfile's production dependencies only.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- run: Node 24 slim, production dependencies, the sources, a non-root user.
FROM ${NODE_IMAGE} AS run
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
# tsconfig.json: tsx reads its JSX settings to load the email templates.
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/emails ./emails
COPY --from=build /app/migrations ./migrations
# The only place the process writes: the capture transport's default CAPTURE_DIR.
# (tsx keeps its compile cache under /tmp.)
RUN mkdir -p .data/mail && chown -R node:node .data
# The official image's unprivileged user (uid 1000).
USER node

# `mailroom serve` listens here; inside a container it must listen on every interface.
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000

# Probes `mailroom serve`'s /healthz with Node's own fetch (no curl in the image).
# Services that run another command (worker, migrate) disable it in docker-compose.yml.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["node", "bin/mailroom.js"]
CMD ["serve"]
