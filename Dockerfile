# emberkv in a container: a release build in the Rust image, run as a
# non-root user on Debian slim with the data directory as a volume.
#
#   docker build -t emberkv .
#   docker run -d -p 6379:6379 -v emberkv-data:/data emberkv --requirepass SECRET
#
# Arguments after the image name are emberkv-server flags (or use
# `--config /data/emberkv.toml`). Clients from outside the container need a
# password (--requirepass or ACL users) or `--protected-mode no`.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p emberkv-server -p emberkv-cli

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin emberkv \
    && mkdir -p /data && chown emberkv:emberkv /data
COPY --from=build /src/target/release/emberkv-server /src/target/release/emberkv-cli /usr/local/bin/
USER emberkv
WORKDIR /data
VOLUME /data
EXPOSE 6379
# Healthy once it answers; with a password set, NOAUTH is an answer too.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD emberkv-cli PING 2>&1 | grep -qE 'PONG|NOAUTH' || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["emberkv-server", "--dir", "/data", "--bind", "0.0.0.0"]
