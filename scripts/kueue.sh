#!/usr/bin/env bash
# A real Kueue (built by `scripts/build-kube.sh kueue`) against a control plane started by
# scripts/controlplane.sh, with its webhooks reachable from kube-apiserver on loopback.
#
#   scripts/kueue.sh start DIR KUBECONFIG [--namespace-label K=V]   # prints DIR/env when ready
#   scripts/kueue.sh stop DIR                                        # stops it, removes its
#                                                                    # webhook configurations
#
# What differs from Kueue's default install, and why (tests/support/KUEUE.md says more):
# - no Deployment, Service or cert-manager: Kueue runs as a process on this machine, with the
#   admin KUBECONFIG (no ClusterRole of its own), leader election off;
# - internalCertManagement off: DIR/pki holds a CA and a serving certificate for 127.0.0.1 that
#   this script makes; every webhook (and CRD conversion webhook) of Kueue's own manifests is
#   rewritten from a `service:` client to `url: https://127.0.0.1:PORT/<path>` with that CA;
# - Kueue manages pods only in namespaces labelled K=V (default accel.dev/kueue=enabled): its
#   managedJobsNamespaceSelector and the namespaceSelector of its pod, deployment and
#   statefulset webhooks (the ones the default install restricts) both match only that label;
# - with internalCertManagement off, Kueue reads the metrics serving certificate from the fixed
#   path /etc/kueue/metrics/certs (cmd/kueue/main.go); rather than write into the machine's
#   /etc, Kueue runs in a private mount namespace whose /etc is an overlay adding that folder;
# - the visibility server (VisibilityOnDemand) is off: it listens on all interfaces at a fixed
#   port and reads its certificate from the fixed path /visibility.
#
# DIR receives: pki/ (ca.crt, serving/tls.{crt,key}), config.yaml (Kueue's Configuration),
# crds.json and webhooks.json (what was applied), logs/kueue.log, pids/kueue, env (ports).
# With ACCEL_CP_OWNER_PID set (as controlplane.sh reads it), a watcher stops Kueue when that
# process dies, even by SIGKILL.
source "$(dirname "$0")/lib.sh"

kueue_bin="$ACCEL_CACHE/bin/kueue-$KUEUE_VERSION"
kubectl_bin="$ACCEL_CACHE/bin/k8s-$K8S_VERSION/kubectl"

gen_pki() {
  local p=$1/pki; mkdir -p "$p/serving"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$p/ca.key" -out "$p/ca.crt" -days 7 \
    -subj /CN=accel-kueue-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$p/serving/tls.key" -out "$p/serving.csr" \
    -subj /CN=kueue-webhook 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$p/serving.ext"
  openssl x509 -req -in "$p/serving.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
    -days 7 -extfile "$p/serving.ext" -out "$p/serving/tls.crt" 2>/dev/null
  chmod 600 "$p/ca.key" "$p/serving/tls.key"
}

# Rewrites Kueue's manifests (kubectl's JSON of them in IN) for loopback: service clients
# become url: clients with our CA; names get the default install's "kueue-" prefix; the webhooks
# (CRD conversions) that Kueue's own kustomizations patch get our namespace selector (conversion).
rewrite() { # rewrite webhooks|crds IN PORT CA_FILE LABEL KUSTOMIZATION
  python3 - "$@" <<'PY'
import base64, json, re, sys
kind, src, port, ca_file, label, kustomization = sys.argv[1:7]
# kubectl prints one JSON document per object, one after the other (or a List).
text, items, pos, dec = open(src).read(), [], 0, json.JSONDecoder()
while text[pos:].strip():
    doc, end = dec.raw_decode(text[pos:].lstrip())
    pos = len(text) - len(text[pos:].lstrip()) + end
    items += doc["items"] if doc.get("kind") == "List" else [doc]
ca = base64.b64encode(open(ca_file, "rb").read()).decode()
kust = open(kustomization).read()
def client(path):
    return {"url": f"https://127.0.0.1:{port}{path}", "caBundle": ca}
if kind == "webhooks":
    key, value = label.split("=", 1)
    # The webhooks Kueue's config/components/webhook/kustomization.yaml gives a namespaceSelector.
    restricted = set(re.findall(r"^\s*- name: (\S+\.kb\.io)\s*$", kust, re.M))
    if not restricted:
        sys.exit("no namespaceSelector patches found in " + kustomization)
    for obj in items:
        obj["metadata"] = {"name": "kueue-" + obj["metadata"]["name"]}
        for wh in obj["webhooks"]:
            wh["clientConfig"] = client(wh["clientConfig"]["service"]["path"])
            if wh["name"] in restricted:
                wh["namespaceSelector"] = {"matchLabels": {key: value}}
else:
    # The CRDs config/components/crd/kustomization.yaml patches with a conversion webhook.
    plurals = set(re.findall(r"^- path: patches/webhook_in_(\w+)\.yaml\s*$", kust, re.M))
    if not plurals:
        sys.exit("no conversion webhook patches found in " + kustomization)
    for obj in items:
        if obj["spec"]["names"]["plural"] in plurals:
            obj["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
                "clientConfig": client("/convert"), "conversionReviewVersions": ["v1"]}}
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)
PY
}

write_config() { # write_config DIR LABEL
  local d=$1 key=${2%%=*} value=${2#*=}
  # shellcheck disable=SC1091
  source "$d/env"
  cat > "$d/config.yaml" <<CFG
apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: kueue-system
health:
  healthProbeBindAddress: 127.0.0.1:$HEALTH_PORT
metrics:
  bindAddress: 127.0.0.1:$METRICS_PORT
webhook:
  host: 127.0.0.1
  port: $WEBHOOK_PORT
  certDir: $d/pki/serving
leaderElection:
  leaderElect: false
internalCertManagement:
  enable: false
manageJobsWithoutQueueName: false
managedJobsNamespaceSelector:
  matchLabels:
    $key: "$value"
integrations:
  frameworks:
  - batch/job
  - pod
featureGates:
  VisibilityOnDemand: false
CFG
}

# Runs Kueue in a private mount namespace in which /etc is an overlay of the machine's /etc
# (on a tmpfs, so nothing is written to the machine's) that adds /etc/kueue/metrics/certs.
# As root, a mount namespace is enough; otherwise a user namespace maps us to root in it.
start_kueue() {
  local d=$1 kc=$2 ns=(--mount)
  [ "$(id -u)" = 0 ] || ns=(--user --map-root-user --mount)
  unshare "${ns[@]}" -- bash -c '
    set -e; d=$1; shift
    mkdir -p "$d/etc-overlay"
    mount -t tmpfs -o size=4m,mode=0700 accel-kueue "$d/etc-overlay"
    mkdir -p "$d/etc-overlay/upper/kueue/metrics/certs" "$d/etc-overlay/work"
    cp "$d/pki/serving/tls.crt" "$d/pki/serving/tls.key" "$d/etc-overlay/upper/kueue/metrics/certs/"
    mount -t overlay accel-kueue-etc \
      -o "lowerdir=/etc,upperdir=$d/etc-overlay/upper,workdir=$d/etc-overlay/work" /etc
    exec "$@"' _ "$d" \
    "$kueue_bin/kueue" --config="$d/config.yaml" --kubeconfig="$kc" \
    >>"$d/logs/kueue.log" 2>&1 &
  echo $! > "$d/pids/kueue"
}

fail_start() {
  tail -30 "$1/logs/kueue.log" >&2
  die "$2 (log: $1/logs/kueue.log)"
}

start() {
  local d=$1 kc=$2 label="accel.dev/kueue=enabled"; shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
      --namespace-label) [ $# -ge 2 ] || die "start: --namespace-label needs K=V"; label=$2; shift ;;
      --namespace-label=*) label=${1#*=} ;;
      *) die "start: unknown option $1" ;;
    esac
    shift
  done
  [[ "$label" == ?*=* ]] || die "start: --namespace-label must be K=V, got '$label'"
  [ -x "$kueue_bin/kueue" ] && [ -f "$kueue_bin/webhook/manifests.yaml" ] ||
    die "Kueue $KUEUE_VERSION is not built: run scripts/build-kube.sh kueue"
  [ -x "$kubectl_bin" ] || die "kubectl missing: run scripts/build-kube.sh kube"
  [ -f "$kc" ] || die "no kubeconfig at $kc"
  mkdir -p "$d/logs" "$d/pids"
  d=$(cd "$d" && pwd); kc=$(cd "$(dirname "$kc")" && pwd)/$(basename "$kc")
  [ -f "$d/pki/ca.crt" ] || gen_pki "$d"
  local webhook_port
  webhook_port=$(free_port)
  cat > "$d/env" <<ENV
WEBHOOK_PORT=$webhook_port
METRICS_PORT=$(free_port)
HEALTH_PORT=$(free_port)
NAMESPACE_LABEL=$label
KUBECONFIG=$kc
KUEUE_BIN=$kueue_bin
ENV
  write_config "$d" "$label"
  local k=("$kubectl_bin" --kubeconfig="$kc")

  # CRDs first (Kueue's caches need them), with their conversion webhooks pointing at us.
  "${k[@]}" create --dry-run=client -o json -f "$kueue_bin/crd/bases" > "$d/crds.in.json"
  rewrite crds "$d/crds.in.json" "$webhook_port" "$d/pki/ca.crt" "$label" \
    "$kueue_bin/crd/kustomization.yaml" > "$d/crds.json"
  "${k[@]}" apply --server-side --force-conflicts --field-manager=accel-kueue -f "$d/crds.json" >/dev/null
  "${k[@]}" wait --for=condition=Established --timeout=60s -f "$d/crds.json" >/dev/null ||
    die "Kueue's CRDs did not become Established"

  start_kueue "$d" "$kc"
  if [ -n "${ACCEL_CP_OWNER_PID:-}" ]; then
    # The pid is remembered: when DIR goes first (a control plane removes its folder, Kueue's
    # inside it, before anyone stopped Kueue), `stop` finds no pid file and Kueue would live on.
    nohup bash -c 'pid=$(cat "$2/pids/kueue")
      while kill -0 "$1" 2>/dev/null && [ -f "$2/pids/kueue" ]; do sleep 1; done
      "$3" stop "$2"
      if grep -q kueue "/proc/$pid/cmdline" 2>/dev/null; then kill -KILL "$pid"; fi' \
      _ "$ACCEL_CP_OWNER_PID" "$d" "$ACCEL_ROOT/scripts/kueue.sh" >/dev/null 2>&1 &
    echo $! > "$d/watcher.pid"
  fi
  # shellcheck disable=SC1091
  source "$d/env"
  local deadline=$((SECONDS + 120)) pid out
  pid=$(cat "$d/pids/kueue")
  until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$HEALTH_PORT/readyz"; do
    kill -0 "$pid" 2>/dev/null || fail_start "$d" "Kueue exited during start-up"
    [ $SECONDS -lt $deadline ] || fail_start "$d" "Kueue did not become ready"
    sleep 0.2
  done

  # Only now the webhook configurations: before Kueue listens they would fail every pod
  # created in a managed namespace (failurePolicy: Fail).
  "${k[@]}" create --dry-run=client -o json -f "$kueue_bin/webhook/manifests.yaml" \
    > "$d/webhooks.in.json"
  rewrite webhooks "$d/webhooks.in.json" "$webhook_port" "$d/pki/ca.crt" "$label" \
    "$kueue_bin/webhook/kustomization.yaml" > "$d/webhooks.json"
  "${k[@]}" apply --server-side --force-conflicts --field-manager=accel-kueue -f "$d/webhooks.json" >/dev/null

  # Ready means the apiserver reaches the webhook: a server-side dry run of a ResourceFlavor
  # passes through Kueue's mutating and validating webhooks (failurePolicy: Fail).
  local probe='{"apiVersion":"kueue.x-k8s.io/v1beta2","kind":"ResourceFlavor","metadata":{"name":"accel-webhook-probe"}}'
  until out=$("${k[@]}" create --dry-run=server -o name -f - <<<"$probe" 2>&1); do
    kill -0 "$pid" 2>/dev/null || fail_start "$d" "Kueue exited during start-up"
    [ $SECONDS -lt $deadline ] || fail_start "$d" "Kueue's webhook did not answer the apiserver: $out"
    sleep 0.2
  done
  echo "$d/env"
}

stop() {
  local d=$1
  [ -d "$d/pids" ] || return 0
  stop_one "$d/pids/kueue"
  # A webhook configuration left behind with no Kueue would fail every Job (and every pod in a
  # managed namespace) on a control plane that outlives us. Best effort: the plane may be gone.
  if [ -f "$d/webhooks.json" ] && [ -f "$d/env" ]; then
    "$kubectl_bin" --kubeconfig="$(sed -n 's/^KUBECONFIG=//p' "$d/env")" --request-timeout=5s delete \
      --ignore-not-found --wait=false -f "$d/webhooks.json" >/dev/null 2>&1 || true
  fi
  stop_watcher "$d"
}

case "${1:-}" in
  start) [ $# -ge 3 ] || die "usage: $0 start DIR KUBECONFIG [--namespace-label K=V]"
    shift; start "$@" ;;
  stop) [ $# -ge 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 start DIR KUBECONFIG [--namespace-label K=V] | stop DIR" ;;
esac
