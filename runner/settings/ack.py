"""How the acknowledgement (the permission check and the tracking comment) reaches the code host:
with the standard library's small HTTP client before the SDKs are loaded (``flow/ack.py``), unless
the job's network setup is one only the SDKs' transport (requests) follows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# requests honours these proxies and http.client does not: with one set, the SDK makes every call.
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
# The certificates requests verifies with instead of its own bundle: the small client uses them too.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
AUDIT_VARIABLE = "CLAUDE_RUNNER_ACK_AUDIT"


@dataclass(frozen=True)
class AckSettings:
    """``small_client``: the acknowledgement's calls go through ``http.client`` (False: through the
    SDK, as every later call: ``CLAUDE_RUNNER_FAST_ACK=0``, or a proxy variable set). ``ca_bundle``:
    the certificates to verify with (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``), as requests does;
    None: the system's. ``audit_path`` (``CLAUDE_RUNNER_ACK_AUDIT``, a diagnostic): where to write
    the names of the modules loaded when the tracking comment is sent, as a JSON list."""

    small_client: bool = True
    ca_bundle: Path | None = None
    audit_path: Path | None = None


def read_ack_settings(env: Mapping[str, str]) -> AckSettings:
    """The acknowledgement's settings from the job's variables."""
    proxied = any(env.get(name) or env.get(name.lower()) for name in PROXY_VARIABLES)
    turned_off = env.get("CLAUDE_RUNNER_FAST_ACK", "").strip().lower() in ("0", "false", "no", "off")
    bundle = next((env[name] for name in CA_BUNDLE_VARIABLES if env.get(name, "").strip()), "")
    audit = env.get(AUDIT_VARIABLE, "").strip()
    return AckSettings(
        small_client=not (proxied or turned_off),
        ca_bundle=Path(bundle.strip()) if bundle else None,
        audit_path=Path(audit) if audit else None,
    )
