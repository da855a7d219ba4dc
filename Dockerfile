# attestd: a static binary in a distroless image, running as nonroot.
#
#   docker build -t attestd .
#   docker run --rm attestd --help
#
# docker-compose.yml runs it with deploy/attestd.compose.yaml.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/attestd ./cmd/attestd \
 && mkdir -p /out/var/lib/attestd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/attestd /attestd
# The SQLite database lives here; a volume mounted on it keeps this owner.
COPY --from=build --chown=65532:65532 /out/var/lib/attestd /var/lib/attestd
USER 65532:65532
VOLUME /var/lib/attestd
ENTRYPOINT ["/attestd"]
CMD ["run", "--config", "/etc/attestd/attestd.yaml"]
