#!/bin/sh
# Runs from /docker-entrypoint.d before nginx starts: a self-signed certificate for
# localhost, made once per volume (browsers will warn: it is for local use only).
set -eu
dir=/etc/nginx/certs
if [ ! -s "$dir/tls.crt" ] || [ ! -s "$dir/tls.key" ]; then
  apk add --no-cache openssl >/dev/null 2>&1 || true
  openssl req -x509 -nodes -newkey rsa:2048 -days 365 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt"
  chmod 600 "$dir/tls.key"
fi
