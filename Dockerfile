# Multi-stage build of the `lrs` binary (all roles: serve, ingest, project, migrate).
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin lrs

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/lrs --create-home lrs
COPY --from=build /src/target/release/lrs /usr/local/bin/lrs
USER lrs
WORKDIR /var/lib/lrs
ENV LRS_LISTEN=0.0.0.0:8080 LRS_DATA_DIR=/var/lib/lrs/data LRS_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["lrs"]
CMD ["serve"]
