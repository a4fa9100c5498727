# craftmatch — container image of craftmatchd.
#
#   docker build -t craftmatch .
#   docker run --rm -p 8080:8080 -e CRAFTMATCH_REDIS_URL=redis://redis-host:6379 craftmatch
#
# With podman and no registry (docs/operations.md, "Containers"):
#   scripts/container-base      # debian:bookworm-slim from debootstrap, imported once
#   podman build --isolation chroot --pull=never -t localhost/craftmatch .
# scripts/container-test builds and runs it (and docs/compose.yaml) for real.
#
# Both stages install their packages with scripts/setup, so the package list
# lives in one place. Redis is not in the image: run it beside it with
# scripts/redis-start (docs/compose.yaml runs Redis, its Sentinels and nginx
# beside two craftmatchd containers), which sets appendonly yes, appendfsync
# always and aof-load-truncated no, and cuts a torn AOF tail off whole
# before every start.

# --- build: compiler and headers, release binary ------------------------------
FROM debian:bookworm-slim AS build
WORKDIR /src
# The setup script alone first, so the package layer survives source edits.
COPY scripts/setup scripts/setup
RUN bash scripts/setup --build-only && rm -rf /var/lib/apt/lists/*
# Only where the build reaches npm through a TLS-intercepting proxy: the path,
# inside the build, of that proxy's CA certificate (bind-mounted by the
# builder; scripts/container-test passes the host's bundle). Unset, npm trusts
# its usual roots. A build argument of this stage only: the image has none.
ARG NODE_EXTRA_CA_CERTS
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
