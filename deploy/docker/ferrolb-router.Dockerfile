# syntax=docker/dockerfile:1
# ferrolb-router: the router daemon, for router hosts that run containers (host network, CAP_NET_ADMIN and CAP_NET_BIND_SERVICE; the .deb and deploy/systemd are the usual way). Mount its config at /etc/ferrolb/router.yaml
#
#   docker build -f deploy/docker/ferrolb-router.Dockerfile -t ghcr.io/ferrolb/ferrolb-router:0.1.0 .
#
# Built from the repository root (the whole workspace is the build context;
# ferrolb-router.Dockerfile.dockerignore keeps target/ and .git out of it).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Only this program and its dependencies are compiled; the caches keep the
# registry and incremental artefacts between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ferrolb-router \
    && install -D -m 0755 target/release/ferrolb-router /out/ferrolb-router

FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/ferrolb-router /usr/local/bin/ferrolb-router
USER 0:0
EXPOSE 179 9180
ENTRYPOINT ["/usr/local/bin/ferrolb-router", "--config", "/etc/ferrolb/router.yaml"]
