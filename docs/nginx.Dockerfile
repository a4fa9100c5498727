# craftmatch — nginx image for docs/compose.yaml, in front of the craftmatchd nodes.
#
#   docker build -f docs/nginx.Dockerfile -t craftmatch-nginx .     (from the repository root)
#
# Debian 12's nginx (1.22) on the same debian:bookworm-slim base as the other
# images, so nothing comes from a registry but that base. The configuration
# is not in the image: compose mounts docs/nginx.conf as /etc/nginx/nginx.conf.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/nginx/sites-enabled/default
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
