# keywarden: one image for the API (`serve`) and the workers (`worker`); see docker-compose.yml.
# Build stage: compilers only for re2's native addon, in case its prebuilt binary does not fit.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first, so editing the source does not reinstall them. `prepare` (the build) needs the
# source, hence --ignore-scripts here and an explicit rebuild of the one native addon.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild re2
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
# git: history scans run it; tini: PID 1 that forwards SIGTERM (graceful worker shutdown) and reaps git children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/rules ./rules
USER node
EXPOSE 8787
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/keywarden.js"]
CMD ["--help"]
