# inferbench load generator image, e.g. for the shard pods of `inferbench k8s` (README: "Load from many
# machines"). Built FROM the official Node.js 20 image:
#   docker build -t REGISTRY/inferbench:0.1.0 . && docker push REGISTRY/inferbench:0.1.0
# ONNX Runtime's optional GPU downloads are skipped: shards only send load (the CPU runtime ships in the package).
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY embedded-server ./embedded-server
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
# The official image's "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000
ENTRYPOINT ["node", "/app/bin/inferbench.mjs"]
CMD ["--help"]
