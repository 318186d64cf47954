"""One run of bench/operator_vs_kubeflow.sh: one operator, one batch size, a fresh cluster.

  operator_bench.py --system accel|kubeflow --jobs N --out RAW.json --work DIR ...

Starts a fresh control plane (scripts/controlplane.sh start DIR --with-controllers: etcd,
kube-apiserver, kube-controller-manager, kube-scheduler), KWOK with a few fake nodes (KWOK's
own stages: nodes become Ready and keep a Lease, scheduled pods go Running at once), the
operator's CRD, and the operator (its own client certificate, user `bench-operator`, so that
the API server can count its requests). Then it creates N jobs of 2 pods each and measures:

- per job: from the harness's POST of the job returning to both of its pods seen Running by
  a watch the harness holds on the pods (local clock, so sub-second resolution; a watch adds
  the same delay for both operators), and to the job's own status saying Running;
- the operator's CPU seconds (utime + stime of /proc/<pid>/stat) and peak RSS (VmHWM of
  /proc/<pid>/status) over the batch — a fresh process per batch, so VmHWM is this batch's;
- the API requests the operator made: a FlowSchema that matches only user `bench-operator`
  (priority level `exempt`, so nothing is queued: the same treatment as the admin user the
  rest of the cluster uses) and the API server's
  apiserver_flowcontrol_dispatched_requests_total{flow_schema="bench-operator"}, read from
  its /metrics before and after. A watch counts once, when it starts.

Only the standard library; kubectl only for installing the CRD.
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
NS = "bench"
NODES = 4
USER = "bench-operator"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(f"[operator_bench {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Api:
    """Minimal Kubernetes REST client (client certificate auth)."""

    def __init__(self, port, ca, cert, key):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self.conn = None

    def _conn(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)

    def req(self, method, path, body=None, ok=(200, 201), ctype="application/json"):
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = self._conn()
                data = json.dumps(body).encode() if body is not None and not isinstance(body, (bytes, str)) else body
                hdr = {"Content-Type": ctype} if data is not None else {}
                self.conn.request(method, path, body=data, headers=hdr)
                r = self.conn.getresponse()
                raw = r.read()
                if r.status not in ok:
                    raise RuntimeError(f"{method} {path}: HTTP {r.status}: {raw[:400]!r}")
                if r.getheader("Content-Type", "").startswith("application/json"):
                    return json.loads(raw)
                return raw.decode()
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.5)

    def watch(self, path, on_event, stop):
        """Streams watch events of `path` (a list URL) to on_event(type, obj, t) until stop is set."""
        while not stop.is_set():
            try:
                c = self._conn(timeout=None)
                sep = "&" if "?" in path else "?"
                c.request("GET", f"{path}{sep}watch=1&timeoutSeconds=3600")
                r = c.getresponse()
                if r.status != 200:
                    raise RuntimeError(f"watch {path}: HTTP {r.status}")
                while not stop.is_set():
                    line = r.readline()
                    if not line:
                        break
                    t = time.time()
                    ev = json.loads(line)
                    on_event(ev["type"], ev["object"], t)
            except Exception as e:  # reconnect; a missed event would show as a timeout
                if not stop.is_set():
                    log(f"watch {path} broke: {e}; reconnecting")
                    time.sleep(0.2)


def metric_sum(text, name, label_re):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and re.search(label_re, line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def requests_by_kind(text):
    """apiserver_request_total summed by verb, group, resource and subresource (every client's)."""
    out = {}
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        k = f'{labels.get("verb")} {labels.get("group") or "core"}/{labels.get("resource")}' + \
            (f'/{labels["subresource"]}' if labels.get("subresource") else "")
        out[k] = out.get(k, 0) + float(line.rsplit(" ", 1)[1])
    return out


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def sh(cmd, **kw):
    r = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-800:]}")
    return r.stdout


def make_user_cert(pki, user, outdir):
    key, csr, crt = (os.path.join(outdir, f"{user}.{e}") for e in ("key", "csr", "crt"))
    sh(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={user}"])
    ext = os.path.join(outdir, "client.ext")
    open(ext, "w").write("extendedKeyUsage=clientAuth\n")
    sh(["openssl", "x509", "-req", "-in", csr, "-CA", f"{pki}/ca.crt", "-CAkey", f"{pki}/ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt])
    return crt, key


def write_kubeconfig(path, port, ca, crt, key):
    open(path, "w").write(f"""apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority: {ca}
users:
- name: {USER}
  user:
    client-certificate: {crt}
    client-key: {key}
contexts:
- name: bench
  context: {{cluster: bench, user: {USER}}}
current-context: bench
""")


def wait_until(pred, timeout, what, every=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def http_ok(url):
    try:
        c = http.client.HTTPConnection(url.split("/")[2], timeout=2)
        c.request("GET", "/" + url.split("/", 3)[3])
        return c.getresponse().status == 200
    except OSError:
        return False


TOLERATIONS = [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}]
SELECTOR = {"type": "kwok"}


def accel_job(i):
    return {"apiVersion": "accel.dev/v1alpha1", "kind": "AccelJob",
            "metadata": {"name": f"job-{i}", "namespace": NS},
            "spec": {"image": "accel-worker:cpu", "command": ["accel-train-gpt"],
                     "nodes": 2, "gpusPerNode": 0,
                     "metrics": {"port": 0},  # no /progress polling of the (fake) rank 0
                     "template": {"nodeSelector": SELECTOR, "tolerations": TOLERATIONS}}}


def pytorch_job(i):
    def replica():
        return {"replicas": 1, "restartPolicy": "OnFailure",
                "template": {"spec": {
                    "containers": [{"name": "pytorch", "image": "pytorch-worker:cpu",
                                    "command": ["python", "train.py"]}],
                    "nodeSelector": SELECTOR, "tolerations": TOLERATIONS}}}
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": f"job-{i}", "namespace": NS},
            "spec": {"pytorchReplicaSpecs": {"Master": replica(), "Worker": replica()}}}


ACCEL = {"plural": "acceljobs", "group": "accel.dev", "version": "v1alpha1",
         "job_label": "accel.dev/job-name", "make": accel_job}
KUBEFLOW = {"plural": "pytorchjobs", "group": "kubeflow.org", "version": "v1",
            "job_label": "training.kubeflow.org/job-name", "make": pytorch_job}
# kubeflow-unthrottled: training-operator with its client-side rate limit (--kube-api-qps 20,
# --kube-api-burst 30 as it ships) raised out of the way, so what is measured is its controller.
# plain: bench/plain/plain_client.cpp, the requests Accel's operator must make per job and
# nothing else (the limit the operator is measured against).
SYSTEMS = {"accel": ACCEL, "kubeflow": KUBEFLOW, "kubeflow-unthrottled": KUBEFLOW, "plain": ACCEL}
UNTHROTTLED = ["--kube-api-qps=1000000", "--kube-api-burst=1000000"]


def job_status_running(system, obj):
    st = obj.get("status") or {}
    if system == "accel":
        return st.get("phase") == "Running"
    if system == "plain":  # writes its one status and never says Running
        return st.get("phase") == "Starting"
    return any(c.get("type") == "Running" and c.get("status") == "True" for c in st.get("conditions") or [])


def kwok_config(stages_dir, path):
    files = ["node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
             "pod/fast/pod-ready.yaml", "pod/fast/pod-delete.yaml"]
    docs = [open(os.path.join(stages_dir, f)).read().strip() for f in files]
    open(path, "w").write("\n---\n".join(docs) + "\n")


def webhook_cert_dir():
    # training-operator's cert rotator (cert-controller) writes the serving certificate into a
    # Secret and then waits for the kubelet to mount it at this fixed path; outside a pod nobody
    # mounts it, so a self-signed pair is put there (no webhook configuration points at it).
    d = "/tmp/k8s-webhook-server/serving-certs"
    if not os.path.exists(os.path.join(d, "tls.crt")):
        os.makedirs(d, exist_ok=True)
        sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7", "-subj",
            "/CN=training-operator.kubeflow.svc", "-keyout", os.path.join(d, "tls.key"),
            "-out", os.path.join(d, "tls.crt")])


def run(a):
    sysd = SYSTEMS[a.system]
    work = os.path.abspath(a.work)
    cp = os.path.join(work, "cp")
    os.makedirs(work, exist_ok=True)
    procs = []
    result = {"system": a.system, "jobs": a.jobs, "rep": a.rep, "pods_per_job": 2,
              "workers": a.accel_workers if a.system in ("accel", "plain") else None,
              "load_before": os.getloadavg()}
    ctl = os.path.join(ROOT, "scripts", "controlplane.sh")
    try:
        t0 = time.time()
        sh([ctl, "start", cp, "--with-controllers"])
        env = dict(l.strip().split("=", 1) for l in open(os.path.join(cp, "env")) if "=" in l)
        port = int(env["APISERVER_PORT"])
        kubectl = [os.path.join(env["KUBE_BIN"], "kubectl"), f"--kubeconfig={cp}/kubeconfig"]
        pki = os.path.join(cp, "pki")
        api = Api(port, f"{pki}/ca.crt", f"{pki}/admin.crt", f"{pki}/admin.key")
        result["controlplane_start_s"] = time.time() - t0

        # The operator's identity, its rights, and the FlowSchema that counts its requests.
        crt, key = make_user_cert(pki, USER, pki)
        okc = os.path.join(cp, "kubeconfig-operator")
        write_kubeconfig(okc, port, f"{pki}/ca.crt", crt, key)
        api.req("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": USER},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}]})
        api.req("POST", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
            "metadata": {"name": USER},
            "spec": {"matchingPrecedence": 100, "priorityLevelConfiguration": {"name": "exempt"},
                     "rules": [{"subjects": [{"kind": "User", "user": {"name": USER}}],
                                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                   "namespaces": ["*"], "clusterScope": True}],
                                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}})

        # KWOK and its fake nodes.
        kcfg = os.path.join(work, "kwok.yaml")
        kwok_config(os.path.join(a.kwok_dir, "stages"), kcfg)
        kwok_log = open(os.path.join(work, "kwok.log"), "w")
        kwok = subprocess.Popen([os.path.join(a.kwok_dir, "kwok"), f"--kubeconfig={cp}/kubeconfig",
                                 "--manage-all-nodes=false",
                                 "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                                 "--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16",
                                 "--node-ip=10.1.0.1", "-c", kcfg],
                                stdout=kwok_log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(kwok)
        for n in range(NODES):
            name = f"kwok-node-{n}"
            api.req("POST", "/api/v1/nodes", {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake",
                                                           "node.alpha.kubernetes.io/ttl": "0"},
                             "labels": {"type": "kwok", "kubernetes.io/hostname": name,
                                        "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
                "spec": {"taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]}})

        def nodes_ready():
            items = api.req("GET", "/api/v1/nodes")["items"]
            return sum(any(c["type"] == "Ready" and c["status"] == "True"
                           for c in (n.get("status") or {}).get("conditions") or []) for n in items) == NODES
        wait_until(nodes_ready, 120, "the KWOK nodes to be Ready")
        api.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})

        # The CRD (kubectl create: the PyTorchJob CRD is too big for client-side apply).
        sh(kubectl + ["create", "-f", a.crd])
        crd_path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{sysd['plural']}.{sysd['group']}"
        wait_until(lambda: any(c["type"] == "Established" and c["status"] == "True" for c in
                               (api.req("GET", crd_path).get("status") or {}).get("conditions") or []),
                   120, "the CRD to be Established")
        # ... and served (discovery can lag behind Established).
        wait_until(lambda: api.req("GET", f"/apis/{sysd['group']}/{sysd['version']}/namespaces/{NS}/{sysd['plural']}",
                                   ok=(200, 404, 429, 503)).get("kind", "").endswith("List"), 60, "the CRD's resource to be served")

        # The operator.
        mport, hport = free_port(), free_port()
        op_log = open(os.path.join(work, "operator.log"), "w")
        if a.system == "accel":
            cmd = [a.accel_operator, f"--kubeconfig={okc}", f"--metrics-bind-address=127.0.0.1:{mport}",
                   f"--health-probe-bind-address=127.0.0.1:{hport}", f"--workers={a.accel_workers}"]
            envp = dict(os.environ)
        elif a.system == "plain":
            cmd = [a.plain_client, f"--kubeconfig={okc}", f"--namespace={NS}", f"--workers={a.accel_workers}"]
            envp = dict(os.environ)
        else:
            webhook_cert_dir()
            api.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "kubeflow"}})
            api.req("POST", "/api/v1/namespaces/kubeflow/secrets", {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "training-operator-webhook-cert", "namespace": "kubeflow"}})
            cmd = [a.kubeflow_operator, f"--kubeconfig={okc}", "--enable-scheme=pytorchjob",
                   f"--metrics-bind-address=127.0.0.1:{mport}", f"--health-probe-bind-address=127.0.0.1:{hport}",
                   f"--webhook-server-port={free_port()}"]
            if a.system == "kubeflow-unthrottled":
                cmd += UNTHROTTLED
            envp = dict(os.environ, MY_POD_NAMESPACE="kubeflow")
        if a.wrap:  # a profiler around the operator (heaptrack, perf record): not for the timings
            cmd = a.wrap.split() + cmd
        result["operator_cmd"] = cmd
        t0 = time.time()
        op = subprocess.Popen(cmd, stdout=op_log, stderr=subprocess.STDOUT, env=envp, start_new_session=True)
        procs.append(op)
        oplog = os.path.join(work, "operator.log")
        if a.system == "plain":
            wait_until(lambda: op.poll() is None and "plain client ready" in open(oplog).read(), 60,
                       "the plain client to be ready")
        else:
            wait_until(lambda: op.poll() is None and http_ok(f"http://127.0.0.1:{hport}/readyz"), 180,
                       "the operator's /readyz")
        if a.system.startswith("kubeflow"):  # controllers are set up after the certificates: wait for its log line
            wait_until(lambda: "Starting workers" in open(os.path.join(work, "operator.log")).read()
                       and "pytorchjob" in open(os.path.join(work, "operator.log")).read().lower(),
                       120, "training-operator's PyTorchJob controller to start")
        result["operator_ready_s"] = time.time() - t0
        time.sleep(a.settle)

        # Watches (pods of the namespace; the jobs), then the batch.
        pods_running = {}   # pod name -> first time seen Running
        pod_job = {}
        job_added, job_running = {}, {}
        lock = threading.Lock()

        def on_pod(typ, obj, t):
            md = obj.get("metadata", {})
            name = md.get("name")
            job = (md.get("labels") or {}).get(sysd["job_label"])
            with lock:
                if job:
                    pod_job[name] = job
                if (obj.get("status") or {}).get("phase") == "Running" and name not in pods_running:
                    pods_running[name] = t

        def on_job(typ, obj, t):
            name = obj.get("metadata", {}).get("name")
            with lock:
                job_added.setdefault(name, t)
                if job_status_running(a.system, obj) and name not in job_running:
                    job_running[name] = t

        stop = threading.Event()
        papi = Api(port, f"{pki}/ca.crt", f"{pki}/admin.crt", f"{pki}/admin.key")
        japi = Api(port, f"{pki}/ca.crt", f"{pki}/admin.crt", f"{pki}/admin.key")
        jpath = f"/apis/{sysd['group']}/{sysd['version']}/namespaces/{NS}/{sysd['plural']}"
        threading.Thread(target=papi.watch, args=(f"/api/v1/namespaces/{NS}/pods", on_pod, stop), daemon=True).start()
        threading.Thread(target=japi.watch, args=(jpath, on_job, stop), daemon=True).start()
        time.sleep(0.5)

        metrics0 = api.req("GET", "/metrics")
        fs_re = f'flow_schema="{USER}"'
        req0 = metric_sum(metrics0, "apiserver_flowcontrol_dispatched_requests_total", fs_re)
        cpu0 = proc_cpu_s(op.pid)
        result["operator_startup"] = {"cpu_s": cpu0, "rss_kb": proc_status_kb(op.pid, "VmRSS"),
                                      "hwm_kb": proc_status_kb(op.pid, "VmHWM"), "api_requests": req0}
        log(f"{a.system}: creating {a.jobs} jobs")
        created = {}
        t_first = time.time()
        # --create-threads clients POST the jobs (each its own connection), so that creating
        # thousands of jobs does not take longer than running them.
        def creator(k):
            capi = Api(port, f"{pki}/ca.crt", f"{pki}/admin.crt", f"{pki}/admin.key")
            for i in range(k, a.jobs, a.create_threads):
                capi.req("POST", jpath, sysd["make"](i))
                t = time.time()
                with lock:
                    created[f"job-{i}"] = t
        creators = [threading.Thread(target=creator, args=(k,)) for k in range(a.create_threads)]
        for c in creators:
            c.start()
        for c in creators:
            c.join()
        t_created_all = time.time()
        if len(created) != a.jobs:
            raise RuntimeError(f"only {len(created)} of {a.jobs} jobs were created")

        def all_running():
            with lock:
                per = {}
                for p, j in pod_job.items():
                    if p in pods_running:
                        per[j] = per.get(j, 0) + 1
                return sum(1 for j in created if per.get(j, 0) >= 2) == a.jobs
        timed_out = False
        try:
            wait_until(all_running, a.timeout, f"all pods of {a.jobs} jobs Running", every=0.1)
        except RuntimeError as e:
            timed_out = True
            log(str(e))
        t_all_pods = time.time()
        cpu_pods = proc_cpu_s(op.pid)
        metrics1 = api.req("GET", "/metrics")
        req_pods = metric_sum(metrics1, "apiserver_flowcontrol_dispatched_requests_total", fs_re)
        if not timed_out:
            try:
                wait_until(lambda: len([j for j in created if j in job_running]) == a.jobs,
                           max(30, a.timeout - (t_all_pods - t_first)), "every job's status Running", every=0.1)
            except RuntimeError as e:
                log(str(e))
        time.sleep(a.settle)  # what it still does right after (status writes)
        cpu1 = proc_cpu_s(op.pid)
        metrics2 = api.req("GET", "/metrics")
        req1 = metric_sum(metrics2, "apiserver_flowcontrol_dispatched_requests_total", fs_re)
        hwm = proc_status_kb(op.pid, "VmHWM")
        rss_end = proc_status_kb(op.pid, "VmRSS")  # what stays once the batch has settled
        stop.set()

        with lock:
            per_job = {}
            for p, j in pod_job.items():
                per_job.setdefault(j, []).append(pods_running.get(p))
        ttr, ttj, lag = [], [], []
        for j, tc in created.items():
            ts = per_job.get(j, [])
            if len(ts) >= 2 and all(ts):
                ttr.append(max(ts) - tc)
                if j in job_running:  # the job's status behind its last pod
                    lag.append(job_running[j] - max(ts))
            if j in job_running:
                ttj.append(job_running[j] - tc)
        # The API server's own count of this user's requests by resource/verb is not exposed;
        # keep its per-resource total for everyone as context.
        result.update({
            "timed_out": timed_out,
            "jobs_all_pods_running": len(ttr),
            "jobs_status_running": len(ttj),
            "create_s": t_created_all - t_first,
            # The last pod's Running as the watch saw it (not when the 0.1 s poll noticed).
            "batch_pods_running_s": (max(t for ts in per_job.values() for t in ts if t) - t_first
                                     if not timed_out and ttr else t_all_pods - t_first),
            "time_to_pods_running_s": sorted(ttr),
            "time_to_status_running_s": sorted(ttj),
            "status_lag_s": sorted(lag),
            "cpu_s_to_pods_running": cpu_pods - cpu0,
            "cpu_s_batch": cpu1 - cpu0,
            "settle_s": a.settle,
            "peak_rss_kb": hwm,
            "rss_end_kb": rss_end,
            "api_requests_to_pods_running": req_pods - req0,
            "api_requests_batch": req1 - req0,
            "api_requests_total": req1,
            "pods_seen": len(pod_job),
        })
        with open(os.path.join(work, "operator-metrics.txt"), "w") as f:
            for u in (f"http://127.0.0.1:{mport}/metrics",):
                try:
                    c = http.client.HTTPConnection(u.split("/")[2], timeout=5)
                    c.request("GET", "/metrics")
                    f.write(c.getresponse().read().decode())
                except OSError as e:
                    f.write(f"# {e}\n")
        open(os.path.join(work, "apiserver-metrics-after.txt"), "w").write(metrics2)
        txt = open(os.path.join(work, "operator-metrics.txt")).read()
        # 409s on the job resource during the batch: the harness only creates new names, so
        # these are the operator's (a status or spec write that met a newer version).
        jobs_409 = f'code="409".*resource="{sysd["plural"]}"|resource="{sysd["plural"]}".*code="409"'
        # Every client's requests by kind over the batch: the operator's share is what only it
        # makes (its jobs' status, Services, pods, core/v1 Events), the rest is context.
        before, after = requests_by_kind(metrics0), requests_by_kind(metrics2)
        result["apiserver_requests_by_kind"] = {k: v - before.get(k, 0) for k, v in sorted(after.items())
                                                if v - before.get(k, 0) > 0}
        result["job_conflicts_409"] = (metric_sum(metrics2, "apiserver_request_total", jobs_409)
                                       - metric_sum(metrics0, "apiserver_request_total", jobs_409))
        if a.system == "accel":
            result["conflicts"] = metric_sum(txt, "accel_operator_reconcile_errors_total", 'reason="conflict"')
            result["reconcile_errors"] = metric_sum(txt, "accel_operator_reconcile_errors_total", "")
        if a.system.startswith("kubeflow"):
            # Cross-check: client-go's own count since the process started (start-up + batch).
            result["client_requests_total_crosscheck"] = metric_sum(txt, "rest_client_requests_total", "")
        log(f"{a.system} {a.jobs}: {len(ttr)}/{a.jobs} jobs with pods Running in "
            f"{result['batch_pods_running_s']:.1f}s; cpu {result['cpu_s_batch']:.1f}s; "
            f"rss {hwm/1024:.0f} MiB; requests {result['api_requests_batch']:.0f}")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        subprocess.run([ctl, "stop", cp], capture_output=True)
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", choices=list(SYSTEMS), required=True)
    ap.add_argument("--jobs", type=int, required=True)
    ap.add_argument("--rep", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--crd", required=True)
    ap.add_argument("--kwok-dir", required=True)
    ap.add_argument("--accel-operator")
    ap.add_argument("--accel-workers", type=int, default=4)
    ap.add_argument("--kubeflow-operator")
    ap.add_argument("--plain-client")
    ap.add_argument("--create-threads", type=int, default=4)
    ap.add_argument("--wrap", default="", help="command prefix for the operator, e.g. a profiler")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--settle", type=float, default=3)
    a = ap.parse_args()
    run(a)


if __name__ == "__main__":
    main()
