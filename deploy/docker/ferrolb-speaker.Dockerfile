# syntax=docker/dockerfile:1
# ferrolb-speaker: announces IPs from each node (DaemonSet with hostNetwork). It runs as root because Kubernetes gives added capabilities only to root processes; the pod spec drops every capability but NET_RAW (L2 mode)
#
#   docker build -f deploy/docker/ferrolb-speaker.Dockerfile -t ghcr.io/ferrolb/ferrolb-speaker:0.1.0 .
#
# Built from the repository root (the whole workspace is the build context;
# ferrolb-speaker.Dockerfile.dockerignore keeps target/ and .git out of it).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Only this program and its dependencies are compiled; the caches keep the
# registry and incremental artefacts between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ferrolb-speaker \
    && install -D -m 0755 target/release/ferrolb-speaker /out/ferrolb-speaker

FROM gcr.io/distroless/cc-debian12
COPY --from=build /out/ferrolb-speaker /usr/local/bin/ferrolb-speaker
USER 0:0
EXPOSE 9611 7946/udp
ENTRYPOINT ["/usr/local/bin/ferrolb-speaker"]
