# A small image with the fluxlint command: docker run --rm -v "$PWD:/src" -w /src fluxlint ./migrations
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# cgo: the PostgreSQL parser is libpg_query. The version comes from the
# checked-out tag (VCS stamping), so build from a git checkout.
RUN CGO_ENABLED=1 go build -buildvcs=true -trimpath -o /out/fluxlint ./cmd/fluxlint

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/fluxlint /usr/local/bin/fluxlint
ENTRYPOINT ["fluxlint"]
