"""The image's HEALTHCHECK: exit 0 when the process in this container answers GET /healthz.

`abdi serve` answers on WEBHOOK_PORT, `abdi worker` and `abdi run` (polling) on HEALTH_PORT; one
image runs all of them, so both are tried unless ABDI_HEALTH_URL names the one to ask. Standard
library only: the slim image has no curl.
"""

import os
import sys
import urllib.request


def urls() -> list[str]:
    if os.environ.get("ABDI_HEALTH_URL"):
        return [os.environ["ABDI_HEALTH_URL"]]
    ports = (os.environ.get("WEBHOOK_PORT") or "8080", os.environ.get("HEALTH_PORT") or "8081")
    return [f"http://127.0.0.1:{port}/healthz" for port in ports if port != "0"]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return bool(response.status == 200)
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(0 if any(healthy(url) for url in urls()) else 1)
