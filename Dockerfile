# attestd: a static binary in a distroless image, running as nonroot.
#
#   docker build -t attestd --build-arg VERSION=1.4.0 --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run --rm attestd --help
#
# The build context has no .git (.dockerignore): the version and revision
# that `attestd version`, the start log and attestd_build_info show come
# from the build arguments.
#
# docker-compose.yml runs it with deploy/attestd.compose.yaml.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party/ third_party/
RUN go mod download
COPY . .
ARG VERSION=""
ARG REVISION=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/attestd ./cmd/attestd \
 && mkdir -p /out/var/lib/attestd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/attestd /attestd
# The SQLite database lives here; a volume mounted on it keeps this owner.
COPY --from=build --chown=65532:65532 /out/var/lib/attestd /var/lib/attestd
USER 65532:65532
VOLUME /var/lib/attestd
ENTRYPOINT ["/attestd"]
CMD ["run", "--config", "/etc/attestd/attestd.yaml"]
# No shell nor curl in the image: attestd asks its own /healthz, at the
# configuration's metrics.address (which must be set), and exits 0 or 1.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["/attestd", "healthcheck", "--config", "/etc/attestd/attestd.yaml"]
