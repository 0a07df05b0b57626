#!/bin/sh
# The images' entrypoint. `tensord-entrypoint [ARGS...]` starts tensord on
# TENSORD_LISTEN (0.0.0.0:7070 in the images) with ARGS and:
#   - a tenants file at $TENSORD_TENANTS_FILE (default
#     /etc/tensord/tenants/tenants.yaml): --tenants FILE, every call needs a
#     token (docs/tenancy.md);
#   - a certificate at $TENSORD_TLS_DIR/tls.crt with tls.key (default folder
#     /etc/tensord/tls, the layout of a Kubernetes TLS Secret): TLS, and
#     client certificates checked against ca.crt when that is there too;
#   - no tenants file: --insecure, plaintext and no tokens, with a warning:
#     a container network where everyone is trusted, or a quick try.
# `tensord-entrypoint health [ARGS...]` is the image's HEALTHCHECK:
# tensord-health on the listen port over loopback, with TLS when the daemon
# serves it, asking about the service "liveness" (SERVING through a drain)
# unless ARGS name another with --service.
set -eu
tenants=${TENSORD_TENANTS_FILE:-/etc/tensord/tenants/tenants.yaml}
tls_dir=${TENSORD_TLS_DIR:-/etc/tensord/tls}
listen=${TENSORD_LISTEN:-127.0.0.1:7070}

if [ "${1:-}" = health ]; then
  shift
  case " $* " in
    *" --service "*) ;;
    *) set -- --service liveness "$@" ;;
  esac
  # The first address's port; the daemon is probed on loopback.
  first=${listen%%,*}
  if [ -f "$tls_dir/tls.crt" ]; then
    set -- --tls-no-verify "$@"
    if [ -f "$tls_dir/ca.crt" ]; then
      # A daemon that checks client certificates may require one: present
      # its own, which is what the pod has.
      set -- --tls-cert "$tls_dir/tls.crt" --tls-key "$tls_dir/tls.key" "$@"
    fi
  fi
  exec tensord-health --address "127.0.0.1:${first##*:}" "$@"
fi

if [ -f "$tls_dir/tls.crt" ]; then
  set -- "$@" --tls-cert "$tls_dir/tls.crt" --tls-key "$tls_dir/tls.key"
  if [ -f "$tls_dir/ca.crt" ]; then set -- "$@" --tls-client-ca "$tls_dir/ca.crt"; fi
fi
if [ -f "$tenants" ]; then
  set -- "$@" --tenants "$tenants"
else
  echo "tensord-entrypoint: no tenants file at $tenants: serving $listen without tokens" \
       "(--insecure); mount one unless everyone who can reach the port is trusted" >&2
  set -- "$@" --insecure
fi
exec tensord "$@"
