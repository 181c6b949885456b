"""How `outreach web` runs the dashboard under uvicorn: our access log instead of uvicorn's.

uvicorn's access log writes each request's full path and query, with the client's address:
recipient keys, e-mail addresses and search terms would reach the log. It is turned off, and
the dashboard's own (outreach/web/access.py) logs route templates instead. uvicorn's reading
of proxy headers is off too: by default it takes the client's address from X-Forwarded-For
of any request from 127.0.0.1; the dashboard reads that header itself, and only from the
proxies of `web.trusted_proxies` (outreach/web/proxies.py).
"""

from __future__ import annotations

import copy
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from outreach.config import WebSettings


def logging_config() -> dict[str, Any]:
    """uvicorn's logging, plus the dashboard's loggers with a timestamp on each line."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["outreach"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["outreach"] = {
        "formatter": "outreach",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["outreach"] = {"handlers": ["outreach"], "level": "INFO", "propagate": False}
    return config


def server_options(web: WebSettings, *, log_config: bool = True) -> dict[str, Any]:
    """uvicorn's options for the dashboard on `web.host` and `web.port` (for `uvicorn.run` or
    `uvicorn.Config`); without `log_config`, the process's logging is left as it is (tests)."""
    return {
        "host": web.host,
        "port": web.port,
        "log_level": "info",
        "log_config": logging_config() if log_config else None,
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        # The log goes through the inert stderr (outreach.terminal), which would show colour
        # codes as text.
        "use_colors": False,
    }
