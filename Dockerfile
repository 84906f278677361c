# syntax=docker/dockerfile:1
# The operator image: `ccop` built with the Rust toolchain, run on distroless as a non-root user.
#
#   docker build -t ghcr.io/contact-center-operator/ccop:$(version) .
#
# The runtime base is distroless/cc (glibc, libgcc, CA certificates, no shell): the default glibc
# target links dynamically against glibc, and distroless/static would need the musl target and a
# musl toolchain instead. tests/chart.rs checks the stages, the user and the entrypoint.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# `ccop demo` embeds the example manifests (include_str!), so they are part of the build.
COPY examples ./examples
# Cache mounts keep the registry and build artifacts between builds; the binary is copied out of the
# cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ccop \
    && cp target/release/ccop /ccop

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /ccop /usr/local/bin/ccop
# Numeric (distroless `nonroot`), so the kubelet can verify `runAsNonRoot` without a runAsUser.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ccop"]
CMD ["run"]
