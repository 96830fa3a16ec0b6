# syntax=docker/dockerfile:1
# ferrolb-controller: assigns LoadBalancer IPs (Deployment, deploy/controller)
#
#   docker build -f deploy/docker/ferrolb-controller.Dockerfile -t ghcr.io/ferrolb/ferrolb-controller:0.1.0 .
#
# Built from the repository root (the whole workspace is the build context;
# ferrolb-controller.Dockerfile.dockerignore keeps target/ and .git out of it).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Only this program and its dependencies are compiled; the caches keep the
# registry and incremental artefacts between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ferrolb-controller \
    && install -D -m 0755 target/release/ferrolb-controller /out/ferrolb-controller

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ferrolb-controller /usr/local/bin/ferrolb-controller
USER 65532:65532
EXPOSE 9610 9443
ENTRYPOINT ["/usr/local/bin/ferrolb-controller"]
