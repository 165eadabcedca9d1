# syntax=docker/dockerfile:1
# The gate's image: worker, API, admission webhook and CLI in one image (docs/operations.md#the-image).
#
#   docker build -t slsa-gate .
#   docker run slsa-gate worker | api serve --host 0.0.0.0 | webhook serve … | verify …
#
# Where no Docker engine runs, scripts/release-image.ts makes the same image (the same /app
# selection, the same Node binary, this file's final-stage settings) and publishes it through
# the gate. Keep the final stage to the instructions that script reads: FROM, COPY, USER,
# WORKDIR, ENV, EXPOSE, LABEL, ENTRYPOINT, CMD, HEALTHCHECK, each in exec (JSON) form.

ARG NODE_VERSION=24.21.0

# Build: dist/ from the sources, then the selection the image runs (scripts/image-contents.js):
# the built JavaScript, assets/ and the production dependencies as `npm ci --omit=dev` lays
# them out, nothing else. .dockerignore keeps the context to what this stage copies.
FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG TARGETARCH=amd64
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json LICENSE ./
COPY scripts/build.js scripts/image-contents.js scripts/
COPY bin/ bin/
COPY assets/ assets/
COPY src/ src/
RUN node scripts/build.js && node scripts/image-contents.js --copy-to /out/app --arch "$TARGETARCH"

# Run: glibc, libstdc++ and libgcc from Debian 12 (distroless cc: no shell, no package manager),
# Node's own binary, the app. Runs as the distroless nonroot user (65532); /app is root's, read-only to it.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /out/app /app
USER 65532:65532
WORKDIR /app
ENV NODE_ENV=production
# The worker's health endpoint (src/workers/health-server.ts); api serve and webhook serve answer /healthz on their own port.
ENV SLSA_GATE_HEALTH_LISTEN=0.0.0.0:8081
EXPOSE 8081 8480 8443
LABEL org.opencontainers.image.title="slsa-gate"
LABEL org.opencontainers.image.source="https://github.com/slsa-gate/slsa-gate"
LABEL org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["/usr/local/bin/node", "/app/bin/slsa-gate.js"]
CMD ["worker"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/node", "/app/bin/healthcheck.js", "http://127.0.0.1:8081/healthz"]
