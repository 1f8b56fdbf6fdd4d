# BeTrace processor image. Build from the repository root:
#   docker build -t betrace/betrace:dev .
# Run with a config mounted at /etc/betrace/config.yaml (see docs/deployment.md).

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY processor processor
COPY dsl dsl
COPY config config
COPY proto proto
COPY benchmarks benchmarks
COPY test test
COPY demo demo
RUN npx tsc -p tsconfig.json

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Only the product's compiled code: tests, benchmarks and the demo stay behind.
COPY --from=build /src/dist/processor dist/processor
COPY --from=build /src/dist/dsl dist/dsl
COPY --from=build /src/dist/config dist/config
COPY --from=build /src/dist/proto dist/proto
COPY bin bin
COPY rules rules
RUN mkdir -p /etc/betrace /var/lib/betrace && chown node:node /var/lib/betrace
# The image's unprivileged user (uid 1000), so the chart can run it with runAsNonRoot.
USER node
EXPOSE 4317 4318 8888
# The slim image has no curl; node itself asks the admin endpoint.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8888/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/betrace"]
CMD ["serve", "--config", "/etc/betrace/config.yaml"]
