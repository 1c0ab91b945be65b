"""What every exporter that talks HTTP needs alike: client TLS settings and the
backend's Retry-After."""

from __future__ import annotations

import email.utils
import ssl
import time

from pydantic import Field, model_validator

from collector.component import ComponentConfig, ComponentError


class ClientTls(ComponentConfig):
    ca_file: str | None = Field(None, description="PEM CA bundle to verify the server (default: system CAs)")
    cert_file: str | None = Field(None, description="PEM client certificate, for mutual TLS")
    key_file: str | None = Field(None, description="PEM private key of cert_file")
    insecure_skip_verify: bool = Field(False, description="do not verify the server's certificate")

    @model_validator(mode="after")
    def _pair(self) -> ClientTls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self

    def ssl_context(self) -> ssl.SSLContext:
        """A client context from these settings; unreadable files are a ComponentError."""
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            if self.cert_file and self.key_file:
                ctx.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ComponentError(f"tls: {exc}") from exc
        if self.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


def retry_after_seconds(value: str | None, cap: float | None = None) -> float | None:
    """Retry-After as delay-seconds or an HTTP-date, at most `cap`; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = max(0.0, when.timestamp() - time.time())
    return seconds if cap is None else min(seconds, cap)
