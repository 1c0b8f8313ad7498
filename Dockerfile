# syntax=docker/dockerfile:1
# Build: a static binary (modernc.org/sqlite is pure Go, so no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN mkdir -p /out/data && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/frontdesk ./cmd/frontdesk

# Run: distroless, non-root. The image has no redis-server, so set
# FRONTDESK_REDIS_ADDR to an external Redis (with appendonly yes).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/frontdesk /usr/local/bin/frontdesk
COPY --from=build --chown=65532:65532 /out/data /var/lib/frontdesk
ENV FRONTDESK_DATA_DIR=/var/lib/frontdesk \
    FRONTDESK_HTTP_LISTEN=0.0.0.0:8025
VOLUME ["/var/lib/frontdesk"]
USER nonroot:nonroot
EXPOSE 8025
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/frontdesk"]
CMD ["serve"]
