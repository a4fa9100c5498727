# craftmatch — container image of craftmatchd.
#
#   docker build -t craftmatch .
#   docker run --rm -p 8080:8080 -e CRAFTMATCH_REDIS_URL=redis://redis-host:6379 craftmatch
#
# Both stages install their packages with scripts/setup, so the package list
# lives in one place. Redis is not in the image: run it beside it (see
# docs/compose.yaml), with appendonly yes and appendfsync always.

# --- build: compiler and headers, release binary ------------------------------
FROM debian:bookworm-slim AS build
WORKDIR /src
# The setup script alone first, so the package layer survives source edits.
COPY scripts/setup scripts/setup
RUN bash scripts/setup --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
RUN bash scripts/build --no-tests --target craftmatchd --dir build \
 && mkdir -p server/web/dist

# --- runtime: the shared libraries, the binary, an unprivileged user ----------
FROM debian:bookworm-slim
COPY scripts/setup /usr/local/libexec/craftmatch-setup
RUN bash /usr/local/libexec/craftmatch-setup --runtime-only \
 && rm -rf /var/lib/apt/lists/* /usr/local/libexec/craftmatch-setup \
 && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin craftmatch
COPY --from=build /src/build/craftmatchd /usr/local/bin/craftmatchd
# The built web app, where craftmatchd looks for it by default
# (../share/craftmatch/web from the binary; see --web-root). An image built
# without it serves the API alone and answers / with "not built".
COPY --from=build /src/server/web/dist /usr/local/share/craftmatch/web
USER craftmatch
EXPOSE 8080
# craftmatchd drains in-flight requests on SIGTERM (--shutdown-grace, 10 s by
# default); give it longer than that before a kill (docker stop -t 15).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/craftmatchd", "--bind", "0.0.0.0"]
