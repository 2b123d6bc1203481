"""deploy/: Kubernetes manifests against the API schemas (offline), the Dockerfile linted,
nginx and systemd checked by their own tools, and the pieces agreeing with each other."""

from __future__ import annotations

import configparser
import copy
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from server.adapters.bank_yaml import BUILT_IN_BANK, load_bank

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"  # the oldest Kubernetes release the manifests promise to work on
SETTINGS_SOURCE = (ROOT / "server" / "settings.py").read_text()


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((f"{path.name}:{document['kind']}/{document['metadata']['name']}",
                              document))
    return found


def one(kind: str, name: str = "clausewise") -> dict[str, Any]:
    [found] = [d for _, d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def container() -> dict[str, Any]:
    [found] = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return found


@pytest.mark.parametrize(("name", "document"), documents(), ids=[n for n, _ in documents()])
def test_manifest_matches_the_kubernetes_schema(name: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def test_the_validator_catches_a_typo() -> None:
    broken = copy.deepcopy(one("Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_every_kind_the_issue_asks_for_is_there() -> None:
    kinds = {d["kind"] for _, d in documents()}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "ConfigMap"} <= kinds


def test_probes_hit_the_health_routes_on_the_served_port() -> None:
    spec = container()
    ports = {p["name"]: p["containerPort"] for p in spec["ports"]}
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert spec["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert spec[probe]["httpGet"]["port"] in ports
    bind = {e["name"]: e["value"] for e in spec["env"]}["GUNICORN_BIND"]
    assert bind.endswith(f":{ports['http']}")


def test_selectors_and_targets_agree() -> None:
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        spec = one(kind)["spec"]
        selector = spec["selector"].get("matchLabels", spec["selector"])
        assert selector.items() <= labels.items(), kind
    target = one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "clausewise")
    assert one("Service")["spec"]["ports"][0]["targetPort"] == "http"


def test_pods_run_unprivileged_and_read_only() -> None:
    pod = one("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    context = container()["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    grace = pod["terminationGracePeriodSeconds"]
    gunicorn = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert grace > gunicorn["graceful_timeout"]


def test_the_bank_overlay_is_mounted_where_the_settings_point_and_loads() -> None:
    settings = one("ConfigMap", "clausewise-settings")["data"]
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert mounts["bank-overlay"] == settings["REDLINE_BANK_OVERLAY"]
    assert volumes["bank-overlay"]["configMap"]["name"] == "clausewise-bank-overlay"
    assert mounts["cache"] == settings["REDLINE_CACHE_DIR"]


def test_the_example_overlay_is_a_valid_overlay(tmp_path: Path) -> None:
    for name, text in one("ConfigMap", "clausewise-bank-overlay")["data"].items():
        (tmp_path / name).write_text(text)
    bank = load_bank(BUILT_IN_BANK, tmp_path)
    assert bank.position("liability-cap.customer.firm-data-super-cap") is not None


def test_every_redline_variable_in_deploy_is_a_real_setting() -> None:
    used = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            used |= set(re.findall(r"\bREDLINE_[A-Z_]+", path.read_text(errors="replace")))
    unknown = {name for name in used if f'"{name}"' not in SETTINGS_SOURCE}
    assert used and unknown == set()


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, "--no-color", str(DEPLOY / "Dockerfile")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_unprivileged_offline_with_a_readiness_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    final = text.rsplit("\nFROM ", 1)[1]  # the runtime stage
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/readyz", final, re.M)
    assert "HF_HUB_OFFLINE=1" in final and "TRANSFORMERS_OFFLINE=1" in final
    assert re.search(r'^CMD \["gunicorn", "-c", "deploy/gunicorn.conf.py"\]', final, re.M)
    assert "COPY clause_bank" in text and "build_engine" in text  # bank and model baked in
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text()
    assert "!clause_bank/" in ignored and "!server/" in ignored


def test_gunicorn_config_preloads_and_is_bounded() -> None:
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    assert config["wsgi_app"] == "server.wsgi:app"
    assert config["workers"] >= 1 and config["timeout"] > 0
    assert "%(U)s" in config["access_log_format"] and "%(r)s" not in config["access_log_format"]
    assert config["logger_class"] == "server.serving.GunicornLogger"


def test_each_gunicorn_worker_runs_torch_and_blas_on_the_threads_it_is_given() -> None:
    # In a child process: the limits are process-wide. 3 differs from any default here.
    probe = (
        "import runpy, torch\n"
        "from threadpoolctl import threadpool_info\n"
        f"runpy.run_path({str(DEPLOY / 'gunicorn.conf.py')!r})['post_fork'](None, None)\n"
        "blas = {p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'}\n"
        "print(torch.get_num_threads(), sorted(blas))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "CLAUSEWISE_TORCH_THREADS": "3"}, check=True)
    assert done.stdout.split("\n")[-2] == "3 [3]"


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is missing: run tools/system-deps.sh"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=clausewise.test", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], capture_output=True, check=True)
    site = (DEPLOY / "nginx" / "clausewise.conf").read_text()
    site = (site.replace("/etc/ssl/clausewise/fullchain.pem", str(tmp_path / "cert.pem"))
                .replace("/etc/ssl/clausewise/privkey.pem", str(tmp_path / "key.pem"))
                .replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "$uri" in site and "$request_uri\" $status" not in site  # no query in access log
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site


def test_systemd_unit_verifies_and_reloads_gracefully(tmp_path: Path) -> None:
    text = (DEPLOY / "systemd" / "clausewise.service").read_text()
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(text)
    service = unit["Service"]
    assert service["ExecStart"].endswith("gunicorn -c deploy/gunicorn.conf.py")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["User"] not in ("root", "0")
    assert set(service["RestartPreventExitStatus"].split()) == {"2", "3"}
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run tools/system-deps.sh"
    copy_path = tmp_path / "clausewise.service"
    copy_path.write_text(text.replace("/opt/clausewise/.venv/bin/gunicorn", "/bin/true"))
    result = subprocess.run([analyze, "verify", str(copy_path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
