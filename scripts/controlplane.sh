#!/usr/bin/env bash
# A throw-away Kubernetes control plane on loopback, like controller-runtime's envtest.
#
#   scripts/controlplane.sh start DIR [--with-controllers] [--node-monitor-grace-period=DUR]
#                                     [--gang-scheduling]   # prints DIR/kubeconfig when ready
#   scripts/controlplane.sh stop DIR                         # kills what start began, frees ports
#   scripts/controlplane.sh restart-apiserver DIR            # stops and restarts kube-apiserver only
#   scripts/controlplane.sh restart-etcd DIR SECONDS         # stops etcd, waits, starts it again
#                                                            # (same data dir, same ports)
#   scripts/controlplane.sh start-kwok DIR                   # fake nodes: KWOK manages the Nodes
#                                                            # annotated kwok.x-k8s.io/node=fake
#
# DIR receives: pki/ (a generated CA, a serving cert with 127.0.0.1 SAN, an admin client cert,
# a service-account key pair), tokens.csv (an admin bearer token), kubeconfig (client cert),
# kubeconfig-token, etcd/ data, logs/, pids/, env (KUBECONFIG, ports, binary folder).
# Authorization is RBAC; the admin user is in system:masters. Free ports are picked at start.
# --with-controllers also starts kube-controller-manager (garbage collector, service
# accounts) and kube-scheduler. --node-monitor-grace-period (e.g. 8s; default the
# controller-manager's own, 50s) is how long a node may go without a heartbeat before the node
# lifecycle controller marks it NotReady/Unknown and taints it; it also sets
# --node-monitor-period to 1s so that the check runs often enough for the short grace.
# --gang-scheduling turns on Kubernetes' own gang scheduling (alpha in 1.35/1.36): the feature
# gates GenericWorkload and GangScheduling on every component and the scheduling.k8s.io/v1alpha2
# API group (Workload, PodGroup) on kube-apiserver; kube-scheduler's default profile then has
# the GangScheduling plugin. Without it the group is not served, as on most clusters today.
# start-kwok runs KWOK (built by build-kube.sh tools) for scheduling tests: it keeps the Nodes
# annotated kwok.x-k8s.io/node=fake Ready (heartbeats, leases), keeps the allocatable they were
# given, moves pods bound to them to Running and ends deleted ones as a kubelet does (phase
# Failed, exit 143, then removed); nothing runs. It is stopped with the control plane.
source "$(dirname "$0")/lib.sh"

kube_bin="$ACCEL_CACHE/bin/k8s-$K8S_VERSION"
etcd_bin="$ACCEL_CACHE/bin/etcd-$ETCD_VERSION"

GANG_GATES=GenericWorkload=true,GangScheduling=true

wait_http() { # wait_http URL TIMEOUT_S [curl args...]
  local url=$1 t=$2; shift 2
  local deadline=$((SECONDS + t))
  until curl -sf -o /dev/null --max-time 2 "$@" "$url"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

gen_pki() {
  local p=$1/pki; mkdir -p "$p"; cd "$p"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 7 -subj /CN=accel-test-ca 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' > apiserver.ext
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -extfile apiserver.ext -out apiserver.crt 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=accel-admin" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > client.ext
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -extfile client.ext -out admin.crt 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null && openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  openssl rand -hex 24 > admin.token
  echo "$(cat admin.token),accel-admin-token,accel-admin-token-uid,\"system:masters\"" > ../tokens.csv
  chmod 600 ./*.key admin.token ../tokens.csv
  cd - >/dev/null
}

start_apiserver() {
  local d=$1
  # shellcheck disable=SC1091
  source "$d/env"
  "$kube_bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --tls-cert-file="$d/pki/apiserver.crt" --tls-private-key-file="$d/pki/apiserver.key" \
    --client-ca-file="$d/pki/ca.crt" --token-auth-file="$d/tokens.csv" \
    --authorization-mode=RBAC \
    --service-account-issuer="https://127.0.0.1:$APISERVER_PORT" \
    --service-account-key-file="$d/pki/sa.pub" --service-account-signing-key-file="$d/pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount \
    --cert-dir="$d/pki/generated" \
    ${GANG_SCHEDULING:+--feature-gates="$GANG_GATES" --runtime-config=scheduling.k8s.io/v1alpha2=true} \
    >>"$d/logs/kube-apiserver.log" 2>&1 &
  echo $! > "$d/pids/kube-apiserver"
  wait_http "https://127.0.0.1:$APISERVER_PORT/readyz" 120 --cacert "$d/pki/ca.crt" \
    --cert "$d/pki/admin.crt" --key "$d/pki/admin.key" ||
    { tail -30 "$d/logs/kube-apiserver.log" >&2; die "kube-apiserver did not become ready"; }
}

start_etcd() {
  local d=$1
  # shellcheck disable=SC1091
  source "$d/env"
  "$etcd_bin/etcd" --name=accel-test --data-dir="$d/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="accel-test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes=2147483648 --log-level=warn \
    >>"$d/logs/etcd.log" 2>&1 &
  echo $! > "$d/pids/etcd"
  wait_http "http://127.0.0.1:$ETCD_PORT/health" 60 || { tail -20 "$d/logs/etcd.log" >&2; die "etcd did not start"; }
}

start() {
  local d=$1 controllers="" grace="" gang=""; shift
  for a in "$@"; do
    case "$a" in
      --with-controllers) controllers=$a ;;
      --gang-scheduling) gang=1 ;;
      --node-monitor-grace-period=*) grace=${a#*=} ;;
      "") ;;
      *) die "start: unknown option $a" ;;
    esac
  done
  [ -x "$kube_bin/kube-apiserver" ] && [ -x "$etcd_bin/etcd" ] ||
    die "control-plane binaries missing: run scripts/build-kube.sh"
  mkdir -p "$d/logs" "$d/pids" "$d/etcd"
  d=$(cd "$d" && pwd)
  [ -f "$d/pki/ca.crt" ] || gen_pki "$d"
  local etcd_port etcd_peer api_port
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
  cat > "$d/env" <<ENV
ETCD_PORT=$etcd_port
ETCD_PEER_PORT=$etcd_peer
APISERVER_PORT=$api_port
KUBECONFIG=$d/kubeconfig
KUBE_BIN=$kube_bin
KWOK_DIR=$ACCEL_CACHE/bin/tools-helm-$HELM_VERSION-kwok-$KWOK_VERSION
GANG_SCHEDULING=$gang
ENV
  start_etcd "$d"
  start_apiserver "$d"

  local kc=("$kube_bin/kubectl" --kubeconfig="$d/kubeconfig")
  "${kc[@]}" config set-cluster accel-test --server="https://127.0.0.1:$api_port" \
    --certificate-authority="$d/pki/ca.crt" --embed-certs=true >/dev/null
  "${kc[@]}" config set-credentials accel-admin --client-certificate="$d/pki/admin.crt" \
    --client-key="$d/pki/admin.key" --embed-certs=true >/dev/null
  "${kc[@]}" config set-context accel-test --cluster=accel-test --user=accel-admin >/dev/null
  "${kc[@]}" config use-context accel-test >/dev/null
  local kt=("$kube_bin/kubectl" --kubeconfig="$d/kubeconfig-token")
  "${kt[@]}" config set-cluster accel-test --server="https://127.0.0.1:$api_port" \
    --certificate-authority="$d/pki/ca.crt" --embed-certs=true >/dev/null
  "${kt[@]}" config set-credentials accel-admin-token --token="$(cat "$d/pki/admin.token")" >/dev/null
  "${kt[@]}" config set-context accel-test --cluster=accel-test --user=accel-admin-token >/dev/null
  "${kt[@]}" config use-context accel-test >/dev/null
  chmod 600 "$d/kubeconfig" "$d/kubeconfig-token"

  if [ "$controllers" = "--with-controllers" ]; then
    local node_monitor=() gates=()
    [ -z "$grace" ] || node_monitor=(--node-monitor-grace-period="$grace" --node-monitor-period=1s)
    [ -z "$gang" ] || gates=(--feature-gates="$GANG_GATES")
    "$kube_bin/kube-controller-manager" --kubeconfig="$d/kubeconfig" --leader-elect=false \
      "${node_monitor[@]}" "${gates[@]}" \
      --service-account-private-key-file="$d/pki/sa.key" --root-ca-file="$d/pki/ca.crt" \
      --use-service-account-credentials=false --controllers='*,-serviceaccount-token' \
      --bind-address=127.0.0.1 --secure-port=0 \
      >>"$d/logs/kube-controller-manager.log" 2>&1 &
    echo $! > "$d/pids/kube-controller-manager"
    "$kube_bin/kube-scheduler" --kubeconfig="$d/kubeconfig" --leader-elect=false "${gates[@]}" \
      --bind-address=127.0.0.1 --secure-port=0 \
      >>"$d/logs/kube-scheduler.log" 2>&1 &
    echo $! > "$d/pids/kube-scheduler"
  fi
  # When the owner (a test process) dies without stopping us, even by SIGKILL, a watcher
  # stops the control plane so that no process or port leaks.
  if [ -n "${ACCEL_CP_OWNER_PID:-}" ]; then
    nohup bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2/pids" ]; do sleep 1; done; "$3" stop "$2"' \
      _ "$ACCEL_CP_OWNER_PID" "$d" "$ACCEL_ROOT/scripts/controlplane.sh" >/dev/null 2>&1 &
    echo $! > "$d/watcher.pid"
  fi
  echo "$d/kubeconfig"
}

start_kwok() {
  local d=$1
  # shellcheck disable=SC1091
  source "$d/env"
  [ -x "$KWOK_DIR/kwok" ] || die "kwok missing: run scripts/build-kube.sh tools"
  local f
  : > "$d/kwok.yaml"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml; do
    cat "$KWOK_DIR/stages/$f" >> "$d/kwok.yaml"; echo "---" >> "$d/kwok.yaml"
  done
  # Deletion as a kubelet does it, in two steps (KWOK's fast pod-delete stage deletes at once,
  # which a pod with a finalizer, e.g. Kueue's, survives in phase Running forever): a deleted pod
  # that still runs first ends (phase Failed, its containers terminated by SIGTERM: exit 143);
  # a finished one is then removed (grace 0; finalizers still hold it until their owners let go).
  cat >> "$d/kwok.yaml" <<'STAGES'
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: accel-pod-terminate
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending', 'Running']
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 143
            finishedAt: {{ $now | Quote }}
            reason: Error
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: accel-pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
    - key: '.status.phase'
      operator: 'NotIn'
      values: ['Pending', 'Running']
  next:
    delete: true
STAGES
  "$KWOK_DIR/kwok" --kubeconfig="$d/kubeconfig" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 --cidr=10.244.0.0/16 --node-ip=10.1.0.1 -c "$d/kwok.yaml" \
    >>"$d/logs/kwok.log" 2>&1 &
  echo $! > "$d/pids/kwok"
}

stop() {
  local d=$1
  [ -d "$d/pids" ] || return 0
  for c in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_one "$d/pids/$c"; done
  stop_watcher "$d"
}

case "${1:-}" in
  start) [ $# -ge 2 ] || die "usage: $0 start DIR [--with-controllers] [--node-monitor-grace-period=DUR] [--gang-scheduling]"
    shift; start "$@" ;;
  stop) [ $# -ge 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  restart-apiserver)
    stop_one "$2/pids/kube-apiserver"; start_apiserver "$(cd "$2" && pwd)" ;;
  start-kwok) [ $# -ge 2 ] || die "usage: $0 start-kwok DIR"; start_kwok "$(cd "$2" && pwd)" ;;
  restart-etcd)
    [ $# -ge 3 ] || die "usage: $0 restart-etcd DIR SECONDS"
    stop_one "$2/pids/etcd"; sleep "$3"; start_etcd "$(cd "$2" && pwd)" ;;
  *) die "usage: $0 start|stop|restart-apiserver|restart-etcd|start-kwok DIR" ;;
esac
