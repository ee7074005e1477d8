# syntax=docker/dockerfile:1
# This repository's product (mailroom with the reference app and its emails, wired by
# mailroom.config.ts) as one image for every role; the command picks it:
#   docker run mailroom migrate | worker | serve (the default) | status | ...
# The CLI runs the TypeScript sources through tsx (the product's emails are .tsx), so
# there is no compile step: the build stage installs everything and typechecks, and
# the run stage gets production dependencies (mailroom's, and its peers React, React
# Email and zod, which npm installs with them), the two packages the product itself
# needs at run time (tsx, @fastify/rate-limit), and the sources that typechecked.
# An app of your own installs the built package instead: see README.md.
# Not built on CI (no Docker engine there); see docs/deploy.md.

ARG NODE_IMAGE=node:24-slim

# --- build: every dependency, and the project must typecheck (as CI's `npx tsc --noEmit`).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc --noEmit

# --- prod-deps: the lockfile's production dependencies (and peers), plus the product's
# own run-time packages at the versions package.json names (they are devDependencies
# of the library package, so an --omit=dev install leaves them out).
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm install --prefix /tmp/product --no-save --no-package-lock --no-audit --no-fund \
      $(node -p "const p = require('./package.json'); ['tsx', '@fastify/rate-limit'].map((n) => n + '@' + p.devDependencies[n]).join(' ')") \
 && cp -Rn /tmp/product/node_modules/. node_modules/ && rm -rf /tmp/product && npm cache clean --force

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
COPY --from=build /app/app ./app
COPY --from=build /app/mailroom.config.ts ./
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
