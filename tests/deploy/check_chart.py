"""Checks of the Helm chart deploy/helm/sfn, driven by tests/deploy_chart.rs.

Lints the chart, renders it (Helm as a library: no helm binary, no cluster) with several value sets,
validates every manifest against a current Kubernetes version's schemas, checks the "restricted" Pod
Security level on every pod, and runs `sfn serve --check-config` with the arguments and environment of
every sfn container. Prints every failure and exits 1 if there was one.

Usage: check_chart.py CHART_DIR SFN_BINARY [ENV_VAR_BEING_ADDED ...]
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import helm_python as helm
import kubernetes_validate.utils as kv
import yaml

CHART = Path(sys.argv[1])
SFN = sys.argv[2]
# Settings the chart sets before `sfn serve` parses them (another change adds them); the name check
# accepts them, and complains once the binary knows them so the list is emptied.
BEING_ADDED = set(sys.argv[3:])

DB_URL = "postgres://sfn:secret@db.example:5432/sfn"
RELEASE, NAMESPACE = "wf", "workflows"
TEST_IMAGE_KEY = "tests"
# Kubernetes reads the chart's labels with these names (kubectl, dashboards, the Service selectors).
RECOMMENDED_LABELS = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
]
# Variables sfn reads that are not `sfn serve` flags.
ENV_READ_OUTSIDE_CLAP = {"RUST_LOG"}

failures: list[str] = []


def fail(scenario: str, message: str) -> None:
    failures.append(f"[{scenario}] {message}")


def check(scenario: str, condition: bool, message: str) -> None:
    if not condition:
        fail(scenario, message)


def ci_values() -> dict[str, Any]:
    with open(CHART / "ci" / "multi-replica-values.yaml") as f:
        return yaml.safe_load(f)


def render(values: dict[str, Any], name: str = RELEASE) -> dict[str, str]:
    with helm.Chart.load(str(CHART)) as chart:
        return chart.render(values, name=name, namespace=NAMESPACE, is_install=True)


def resources(rendered: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for path, text in rendered.items():
        if not path.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("__file", path)
                out.append(doc)
    return out


def pod_specs(resource: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(pod metadata, pod spec) of a Pod or of a workload's pod template."""
    kind = resource["kind"]
    if kind == "Pod":
        yield resource["metadata"], resource["spec"]
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        template = resource["spec"]["template"]
        yield template.get("metadata", {}), template["spec"]
    elif kind == "CronJob":
        template = resource["spec"]["jobTemplate"]["spec"]["template"]
        yield template.get("metadata", {}), template["spec"]


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return (
        spec.get("initContainers", [])
        + spec.get("containers", [])
        + spec.get("ephemeralContainers", [])
    )


def seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", duration)
    assert m, duration
    unit = {"ms": 0.001, None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return int(m.group(1)) * unit


# ---- The "restricted" Pod Security Standard (which includes "baseline"), control by control. ----

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
    "secret",
}


def pod_security_restricted(where: str, meta: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    problems = []
    psc = spec.get("securityContext") or {}
    # Baseline: host namespaces, host paths and ports, privileged, capabilities, profiles, sysctls.
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            problems.append(f"{where}: {key} is set")
    for volume in spec.get("volumes", []):
        types = set(volume) - {"name"}
        if "hostPath" in types:
            problems.append(f"{where}: volume {volume['name']} is a hostPath")
        if not types <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"{where}: volume {volume['name']} has a type outside {sorted(RESTRICTED_VOLUME_TYPES)}")
    for sysctl in psc.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            problems.append(f"{where}: sysctl {sysctl['name']} is not a safe one")
    for key, value in (meta.get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            problems.append(f"{where}: AppArmor annotation {key}={value}")

    def profile_problems(ctx: dict[str, Any], at: str) -> None:
        if (ctx.get("windowsOptions") or {}).get("hostProcess"):
            problems.append(f"{at}: windowsOptions.hostProcess")
        selinux = ctx.get("seLinuxOptions") or {}
        if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
            problems.append(f"{at}: seLinuxOptions {selinux}")
        apparmor = (ctx.get("appArmorProfile") or {}).get("type")
        if apparmor not in (None, "RuntimeDefault", "Localhost"):
            problems.append(f"{at}: appArmorProfile {apparmor}")
        seccomp = (ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in (None, "RuntimeDefault", "Localhost"):
            problems.append(f"{at}: seccompProfile {seccomp} (restricted: RuntimeDefault or Localhost)")
        if ctx.get("runAsUser") == 0:
            problems.append(f"{at}: runAsUser 0")

    profile_problems(psc, f"{where} pod securityContext")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")

    containers = all_containers(spec)
    if not containers:
        problems.append(f"{where}: no containers")
    for c in containers:
        at = f"{where} container {c['name']}"
        sc = c.get("securityContext") or {}
        profile_problems(sc, at)
        if sc.get("privileged"):
            problems.append(f"{at}: privileged")
        if sc.get("procMount", "Default") != "Default":
            problems.append(f"{at}: procMount {sc['procMount']}")
        for port in c.get("ports", []):
            if port.get("hostPort", 0) != 0:
                problems.append(f"{at}: hostPort {port['hostPort']}")
        caps = sc.get("capabilities") or {}
        added = set(caps.get("add", []))
        if not added <= BASELINE_CAPABILITIES or not added <= {"NET_BIND_SERVICE"}:
            problems.append(f"{at}: adds capabilities {sorted(added)} (restricted: NET_BIND_SERVICE only)")
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{at}: does not drop ALL capabilities")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{at}: allowPrivilegeEscalation must be false")
        if sc.get("runAsNonRoot") is False or not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            problems.append(f"{at}: runAsNonRoot must be true (pod or container)")
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{at}: seccompProfile must be RuntimeDefault or Localhost (pod or container)")
    return problems


# ---- What `sfn serve` accepts. ----

def sfn_env_names() -> set[str]:
    help_text = subprocess.run(
        [SFN, "serve", "--help"], env={"PATH": os.environ.get("PATH", "")},
        capture_output=True, text=True, check=True,
    ).stdout
    return set(re.findall(r"\[env: ([A-Z0-9_]+)=", help_text))


KNOWN_ENV = sfn_env_names()


def resolve_env(scenario: str, container: dict[str, Any], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    names = [e["name"] for e in container.get("env", [])]
    duplicates = {n for n in names if names.count(n) > 1}
    check(scenario, not duplicates, f"container {container['name']} sets {sorted(duplicates)} twice")
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            data = secrets.get(ref["name"])
            if data is not None:
                check(scenario, ref["key"] in data, f"{e['name']} reads key {ref['key']} that Secret {ref['name']} lacks")
                env[e["name"]] = data.get(ref["key"], "")
            else:
                # A Secret made outside the chart: any well-formed value.
                env[e["name"]] = DB_URL
    return env


def check_sfn_container(scenario: str, container: dict[str, Any], secrets: dict[str, dict[str, str]]) -> None:
    env = resolve_env(scenario, container, secrets)
    for name in env:
        if name.startswith("SFN_") or name in ("DATABASE_URL",) or name.startswith("OTEL_"):
            check(
                scenario,
                name in KNOWN_ENV or name in ENV_READ_OUTSIDE_CLAP or name in BEING_ADDED,
                f"container {container['name']} sets {name}, which `sfn serve` does not read",
            )
    args = container.get("args", [])
    if args[:1] == ["serve"]:
        command = [SFN, *args, "--check-config"]
    else:
        check(scenario, args == ["migrate"], f"container {container['name']} runs {args}")
        # migrate shares the settings block: every value must still be one serve accepts.
        command = [SFN, "serve", "--check-config"]
    run = subprocess.run(
        command, env={"PATH": os.environ.get("PATH", ""), **env}, capture_output=True, text=True
    )
    check(
        scenario,
        run.returncode == 0,
        f"container {container['name']}: `{' '.join(command[1:])}` rejects its settings:\n{run.stderr.strip()}",
    )
    if args[:1] == ["serve"] and run.returncode == 0:
        role = args[args.index("--role") + 1] if "--role" in args else "all"
        check(scenario, f"role: {role.capitalize()}" in run.stdout, f"--check-config printed no role {role}:\n{run.stdout}")


# ---- Validation against Kubernetes' schemas. ----

K8S_VERSION = kv.major_minor(kv.latest_version())


def validate_kubernetes(scenario: str, resource: dict[str, Any]) -> None:
    body = {k: v for k, v in resource.items() if k != "__file"}
    name = f"{resource['kind']}/{resource['metadata']['name']}"
    if resource["apiVersion"] == "monitoring.coreos.com/v1":
        # A CRD: kubernetes-validate has no schema for it; check the fields the operator needs.
        spec = body.get("spec", {})
        check(scenario, body["kind"] == "ServiceMonitor", f"{name}: unexpected kind")
        check(scenario, isinstance(spec.get("selector", {}).get("matchLabels"), dict), f"{name}: selector.matchLabels")
        endpoints = spec.get("endpoints", [])
        check(scenario, bool(endpoints) and all(isinstance(e.get("port"), str) for e in endpoints), f"{name}: endpoints need a named port")
        return
    try:
        kv.validate(body, K8S_VERSION, strict=True)
    except kv.ValidationError as e:
        path = ".".join(str(p) for p in e.path)
        fail(scenario, f"{name} is not valid Kubernetes {K8S_VERSION}: {path}: {e.message}")
    except kv.SchemaNotFoundError as e:
        fail(scenario, f"{name}: {e.message}")


# ---- One rendered release. ----

def check_release(scenario: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        merged = chart.merge_values(values)
    try:
        docs = resources(render(values))
    except helm.HelmError as e:
        fail(scenario, f"does not render: {e}")
        return []
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in docs:
        by_kind.setdefault(r["kind"], []).append(r)
    fullname = merged["fullnameOverride"] or f"{RELEASE}-sfn"

    secrets = {
        s["metadata"]["name"]: {**s.get("stringData", {})} for s in by_kind.get("Secret", [])
    }
    for r in docs:
        name = f"{r['kind']}/{r['metadata']['name']}"
        validate_kubernetes(scenario, r)
        labels = r["metadata"].get("labels") or {}
        missing = [l for l in RECOMMENDED_LABELS if l not in labels]
        check(scenario, not missing, f"{name} lacks labels {missing}")
        check(scenario, r["metadata"]["name"].startswith(fullname), f"{name} is not named after {fullname}")
        for meta, spec in pod_specs(r):
            for problem in pod_security_restricted(name, meta, spec):
                fail(scenario, f"restricted Pod Security: {problem}")
            for c in spec["containers"]:
                if c["image"] == merged[TEST_IMAGE_KEY]["image"]:
                    continue
                check_sfn_container(scenario, c, secrets)
                sc = c.get("securityContext") or {}
                if sc.get("readOnlyRootFilesystem"):
                    volumes = {v["name"]: v for v in spec.get("volumes", [])}
                    tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
                    check(scenario, bool(tmp) and "emptyDir" in volumes.get(tmp[0]["name"], {}),
                          f"{name}: read-only root filesystem without an emptyDir on /tmp")

    deployments = by_kind.get("Deployment", [])
    check(scenario, bool(deployments), "no Deployment")
    for d in deployments:
        name = d["metadata"]["name"]
        template = d["spec"]["template"]
        selector = d["spec"]["selector"]["matchLabels"]
        pod_labels = template["metadata"]["labels"]
        check(scenario, selector.items() <= pod_labels.items(), f"Deployment {name}: selector does not match its pods")
        check(scenario, "app.kubernetes.io/component" in selector, f"Deployment {name}: selector without component")
        check(scenario, "checksum/config" in (template["metadata"].get("annotations") or {}),
              f"Deployment {name}: no checksum/config annotation")
        spec = template["spec"]
        container = spec["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        grace = spec.get("terminationGracePeriodSeconds", 30)
        poll = seconds(env["SFN_ACTIVITY_POLL_TIMEOUT"])
        check(scenario, grace > poll, f"Deployment {name}: terminationGracePeriodSeconds {grace} <= activity poll timeout {poll}s: a drain cannot finish")
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        check(scenario, ports.get("grpc") == 50051, f"Deployment {name}: no grpc port 50051")
        if merged["metrics"]["enabled"]:
            check(scenario, ports.get("metrics") == merged["metrics"]["port"], f"Deployment {name}: no metrics port")
            check(scenario, env.get("SFN_METRICS_LISTEN") == f"0.0.0.0:{merged['metrics']['port']}",
                  f"Deployment {name}: metrics not listening on all interfaces")
        aws = merged["service"]["aws"]
        serves_api = d["metadata"]["labels"].get("app.kubernetes.io/component") == "api"
        if aws["enabled"] and serves_api:
            check(scenario, ports.get("aws") == aws["port"], f"Deployment {name}: no aws port {aws['port']}")
            check(scenario, env.get("SFN_AWS_LISTEN") == f"0.0.0.0:{aws['port']}",
                  f"Deployment {name}: the AWS JSON protocol is not listening on all interfaces")
        else:
            check(scenario, "aws" not in ports, f"Deployment {name}: an aws port where none is served")
        autoscaled = any(h["spec"]["scaleTargetRef"]["name"] == name for h in by_kind.get("HorizontalPodAutoscaler", []))
        check(scenario, autoscaled != ("replicas" in d["spec"]),
              f"Deployment {name}: replicas must be set exactly when no HPA scales it")

    def selected(selector: dict[str, str], kind: str = "Deployment") -> list[str]:
        return [
            d["metadata"]["name"] for d in by_kind.get(kind, [])
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]

    for s in by_kind.get("Service", []):
        check(scenario, bool(selected(s["spec"]["selector"])), f"Service {s['metadata']['name']} selects no Deployment's pods")
        if merged["metrics"]["enabled"]:
            check(scenario, any(p["name"] == "metrics" for p in s["spec"]["ports"]), f"Service {s['metadata']['name']}: no metrics port")
        if merged["service"]["aws"]["enabled"] and s["spec"].get("clusterIP") != "None":
            check(scenario, any(p["name"] == "aws" and p["port"] == merged["service"]["aws"]["port"] for p in s["spec"]["ports"]),
                  f"Service {s['metadata']['name']}: no aws port")
    for p in by_kind.get("PodDisruptionBudget", []):
        check(scenario, bool(selected(p["spec"]["selector"]["matchLabels"])), f"PDB {p['metadata']['name']} selects nothing")
    names = {d["metadata"]["name"] for d in deployments}
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        check(scenario, h["spec"]["scaleTargetRef"]["name"] in names, f"HPA {h['metadata']['name']} targets no Deployment")
    for m in by_kind.get("ServiceMonitor", []):
        sel = m["spec"]["selector"]["matchLabels"]
        services = [s for s in by_kind.get("Service", []) if sel.items() <= s["metadata"]["labels"].items()]
        check(scenario, len(services) >= len(deployments), f"ServiceMonitor selects {len(services)} Services for {len(deployments)} Deployments")
    for i in by_kind.get("Ingress", []):
        check(scenario, i["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/backend-protocol") in ("GRPC", "GRPCS"),
              "Ingress without the gRPC backend protocol")

    # Install order: the database Secret (a hook) exists before the migrate Job (a hook) reads it.
    jobs = by_kind.get("Job", [])
    check(scenario, len(jobs) == 1, f"{len(jobs)} migrate Jobs")
    for job in jobs:
        ann = job["metadata"].get("annotations") or {}
        check(scenario, set(ann.get("helm.sh/hook", "").split(",")) >= {"pre-install", "pre-upgrade"},
              "the migrate Job is not a pre-install,pre-upgrade hook")
        job_spec = job["spec"]["template"]["spec"]
        sa = job_spec.get("serviceAccountName", "default")
        created = [s["metadata"]["name"] for s in by_kind.get("ServiceAccount", [])]
        check(scenario, sa not in created, f"the migrate Job (a pre-install hook) uses ServiceAccount {sa}, which the release creates after its hooks")
        for e in job_spec["containers"][0]["env"]:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if not ref:
                continue
            secret = next((s for s in by_kind.get("Secret", []) if s["metadata"]["name"] == ref["name"]), None)
            if secret is None:
                check(scenario, ref["name"] == merged["database"]["existingSecret"],
                      f"the migrate Job reads Secret {ref['name']}, which is neither rendered nor database.existingSecret")
                continue
            sann = secret["metadata"].get("annotations") or {}
            check(scenario, set(sann.get("helm.sh/hook", "").split(",")) >= {"pre-install", "pre-upgrade"},
                  f"Secret {ref['name']} is not a pre-install,pre-upgrade hook: the migrate Job would wait for it forever")
            check(scenario, int(sann.get("helm.sh/hook-weight", "0")) < int(ann.get("helm.sh/hook-weight", "0")),
                  f"Secret {ref['name']}'s hook-weight is not below the migrate Job's")
            check(scenario, "before-hook-creation" in sann.get("helm.sh/hook-delete-policy", ""),
                  f"Secret {ref['name']} lacks the before-hook-creation delete policy (an upgrade would fail on it)")
            check(scenario, "hook-succeeded" not in sann.get("helm.sh/hook-delete-policy", ""),
                  f"Secret {ref['name']} would be deleted after the hooks, under the running pods")
    return docs


def expect_render_error(scenario: str, values: dict[str, Any], needle: str) -> None:
    try:
        render(values)
    except helm.HelmError as e:
        check(scenario, needle in str(e), f"render failed, but not with {needle!r}: {e}")
        return
    fail(scenario, f"renders, but should fail with {needle!r}")


def schema_covers(schema: dict[str, Any], values: Any, path: str, scenario: str) -> None:
    """Every value of values.yaml has a typed entry in values.schema.json."""
    if not any(k in schema for k in ("type", "enum", "oneOf")):
        fail(scenario, f"{path or '(root)'} has no type in values.schema.json")
    if isinstance(values, dict) and "properties" in schema:
        check(scenario, schema.get("additionalProperties") is False, f"{path}: the schema allows unknown keys")
        for key, value in values.items():
            sub = schema["properties"].get(key)
            if sub is None:
                fail(scenario, f"{path}.{key} is missing from values.schema.json")
            else:
                schema_covers(sub, value, f"{path}.{key}", scenario)


def main() -> int:
    for name in sorted(BEING_ADDED & KNOWN_ENV):
        fail("env", f"`sfn serve` reads {name} now: remove it from the list of variables being added")

    with_url = {"database": {"url": DB_URL}}
    with_secret = {"database": {"existingSecret": "sfn-database"}}
    multi = ci_values()

    for scenario, values in [("lint defaults", with_url), ("lint multi-replica", multi)]:
        report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE, kube_version=f"v{K8S_VERSION}.0")
        for m in report["messages"]:
            check(scenario, m["severity"] < 2, f"{m['path']}: {m['error']}")
        check(scenario, not report["errors"], f"{report['errors']}")

    with helm.Chart.load(str(CHART)) as chart:
        schema = chart.schema
        defaults = chart.values
        schema_covers(schema, defaults, "", "schema")
        schema_covers(schema, multi, "", "schema")
        for bad in [
            {"quotas": {"openExecutions": 1.5}},
            {"quotas": {"openExecutions": -1}},
            {"api": {"role": "executor"}},
            {"leaseDuration": "30 seconds"},
            {"executor": {"replicas": "2"}},
            {"metrics": {"port": 0}},
            {"unknownSetting": True},
        ]:
            try:
                chart.validate_schema({**with_url, **bad})
                fail("schema", f"values.schema.json accepts {bad}")
            except helm.HelmValuesError:
                pass

    check_release("defaults + database.url", with_url)
    check_release("defaults + database.existingSecret", with_secret)
    docs = check_release("multi-replica", multi)
    kinds = {r["kind"] for r in docs}
    for kind in ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor", "Ingress", "Job", "Pod"]:
        check("multi-replica", kind in kinds, f"renders no {kind}")
    check("multi-replica", "Secret" not in kinds, "renders a Secret although database.existingSecret is set")
    check_release("executors apart, metrics off", {
        **with_url, "api": {"role": "api"}, "executor": {"replicas": 1}, "metrics": {"enabled": False},
        "serviceAccount": {"create": False, "name": "workloads"}, "leaseDuration": 120, "activityPollTimeout": "500ms",
    })
    check_release("AWS JSON protocol off", {**with_url, "service": {"aws": {"enabled": False}}})
    check_release("AWS JSON protocol on another port", {**with_url, "service": {"aws": {"port": 9083}}})
    no_aws = resources(render({**with_url, "service": {"aws": {"enabled": False}}}))
    for d in (r for r in no_aws if r["kind"] == "Deployment"):
        env = {e["name"]: e.get("value") for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        check("aws off", env.get("SFN_AWS_LISTEN") == "off", f"Deployment {d['metadata']['name']}: SFN_AWS_LISTEN is not off")
    for svc in (r for r in no_aws if r["kind"] == "Service"):
        check("aws off", all(p["name"] != "aws" for p in svc["spec"]["ports"]), f"Service {svc['metadata']['name']}: aws port while off")

    # Names: nameOverride goes into the name label and the full name, fullnameOverride replaces the latter.
    named = resources(render({**with_url, "nameOverride": "flows"}))
    check("names", all(r["metadata"]["labels"]["app.kubernetes.io/name"] == "flows" for r in named), "nameOverride is not the name label")
    check("names", all(r["metadata"]["name"].startswith(f"{RELEASE}-flows") for r in named), "nameOverride is not in the names")

    # A change of the database URL rolls the pods.
    def checksum(values: dict[str, Any]) -> str:
        api = next(r for r in resources(render(values)) if r["kind"] == "Deployment")
        return api["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    check("rollout", checksum(with_url) != checksum({"database": {"url": DB_URL + "2"}}),
          "changing database.url does not change checksum/config")

    notes = render(with_url)[f"{CHART.name}/templates/NOTES.txt"]
    check("notes", "grpcurl -plaintext" in notes and "port-forward" in notes, f"NOTES.txt does not say how to reach the service:\n{notes}")

    expect_render_error("guard: no database", {}, "database.url or database.existingSecret is required")
    expect_render_error("guard: no executor", {**with_url, "api": {"role": "api"}, "executor": {"replicas": 0}},
                        "no pod would run executors")
    expect_render_error("guard: tls without secret", {**with_url, "tls": {"enabled": True}}, "tls.existingSecret")

    print(f"Kubernetes schemas: {K8S_VERSION}; variables being added: {sorted(BEING_ADDED)}")
    if failures:
        print(f"{len(failures)} chart check(s) failed:")
        for f in failures:
            print(" -", f)
        return 1
    print("every chart check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
