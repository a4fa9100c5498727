# craftmatch — Redis 7 image for docs/compose.yaml (primary, replica and sentinels).
#
#   docker build -f docs/redis.Dockerfile -t craftmatch-redis .     (from the repository root)
#
# Debian 12's redis-server (7.0) on the same debian:bookworm-slim base as the
# craftmatchd image, so nothing comes from a registry but that base (which
# scripts/container-base makes where no registry is reachable). Redis starts
# through scripts/redis-start (AOF always, torn tails cut whole), copied in as
# /usr/local/bin/redis-start; a sentinel runs `redis-server CONFIG --sentinel`.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis /data
COPY scripts/redis-start /usr/local/bin/redis-start
USER redis
WORKDIR /data
VOLUME /data
EXPOSE 6379 26379
ENTRYPOINT ["/usr/local/bin/redis-start", "--dir", "/data", "--bind", "0.0.0.0", "--protected-mode", "no"]
