"""The deployment files checked by the tools that will read them: hadolint for the Dockerfile,
shellcheck for the entrypoint, `systemd-analyze verify` for the units, `nginx -t` for the proxy.
hadolint and shellcheck come with the test extra; systemd and nginx are installed by .ci/run (a
missing one is skipped on a laptop, a failure in CI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import _unavailable

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
ABDI = "/opt/abdi/.venv/bin/abdi"
CERT = "/etc/letsencrypt/live/abdi.example.go.id/"


def tool(name: str) -> str:
    found = shutil.which(name, path=f"{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        _unavailable(name, FileNotFoundError(name))
    assert found is not None
    return found


def check(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_dockerfile_passes_hadolint():
    done = check(tool("hadolint"), "--no-color", str(ROOT / "Dockerfile"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_entrypoint_passes_shellcheck():
    done = check(tool("shellcheck"), "--shell=sh", str(DEPLOY / "entrypoint.sh"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_systemd_units_verify_clean(tmp_path):
    analyze = tool("systemd-analyze")
    # verify also wants each ExecStart to exist: the installed abdi stands in for /opt/abdi's.
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        # A template is verified as one of its instances.
        name = unit.name.replace("@.", "@1.")
        (tmp_path / name).write_text(unit.read_text().replace(ABDI, str(VENV_BIN / "abdi")))
        units.append(str(tmp_path / name))
    done = check(analyze, "verify", *units)
    # Unknown keys and bad values are only warnings: any output at all is a finding.
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_nginx_site_passes_nginx_t(tmp_path):
    nginx = tool("nginx")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            tool("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=abdi.example.go.id",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = (DEPLOY / "nginx" / "abdi.conf").read_text()
    site = site.replace(CERT + "fullchain.pem", str(cert)).replace(CERT + "privkey.pem", str(key))
    (tmp_path / "abdi.conf").write_text(site)
    temp = " ".join(f"{kind}_temp_path {tmp_path};" for kind in ("proxy", "fastcgi", "uwsgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}; scgi_temp_path {tmp_path};"
        f" {temp} include {tmp_path}/abdi.conf; }}\n"
    )
    done = check(nginx, "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", "nginx.conf")
    assert done.returncode == 0, done.stderr
