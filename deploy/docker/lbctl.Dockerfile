# syntax=docker/dockerfile:1
# lbctl: the admin CLI (also the kubectl plugin kubectl-lb)
#
#   docker build -f deploy/docker/lbctl.Dockerfile -t ghcr.io/ferrolb/lbctl:0.1.0 .
#
# Built from the repository root (the whole workspace is the build context;
# lbctl.Dockerfile.dockerignore keeps target/ and .git out of it).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Only this program and its dependencies are compiled; the caches keep the
# registry and incremental artefacts between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin lbctl \
    && install -D -m 0755 target/release/lbctl /out/lbctl

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/lbctl /usr/local/bin/lbctl
USER 65532:65532
EXPOSE 9180
ENTRYPOINT ["/usr/local/bin/lbctl"]
