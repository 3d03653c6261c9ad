# codeq server image: `docker build -t codeq .` then run with NATS_URL and REDIS_URL
# (see docker-compose.yml). The CLI is in the image too: `docker run --rm codeq node dist/src/cli/main.js --help`.

# Build stage: dev dependencies for the TypeScript compiler.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the compiled output only.
FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The data dir (local artifacts) must be writable by the unprivileged user.
RUN mkdir -p /app/.codeq && chown node:node /app/.codeq
USER node
EXPOSE 8080
# SIGTERM reaches node directly (exec form): open long-polls get 204 and the engine closes cleanly.
CMD ["node", "dist/src/cli/main.js", "server"]
