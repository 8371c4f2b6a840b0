"""Sign-in lockout: too many wrong passwords for one username, or from one address, stop sign-ins for a while.

Shared by the web log-in form and the API token endpoint, so guessing is equally slow on both.
Counters live in the shared cache (Redis); if the cache is down the check fails open (logged)
rather than locking everybody out or failing every sign-in with a 500.
"""

from __future__ import annotations

import hashlib
import logging
import math

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)


class LockedOut(Exception):
    def __init__(self, seconds: int) -> None:
        minutes = max(1, math.ceil(seconds / 60))
        super().__init__(
            f"Too many failed sign-in attempts. For your security, signing in is paused for about "
            f"{minutes} minute{'s' if minutes != 1 else ''}; try again later or reset your password."
        )
        self.seconds = seconds


def client_address(request: HttpRequest) -> str:
    """The caller's address, trusting ``X-Forwarded-For`` only as far as ``NUM_PROXIES`` proxies go."""
    configured = settings.REST_FRAMEWORK.get("NUM_PROXIES")
    proxies = configured if isinstance(configured, int) else 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return str(request.META.get("REMOTE_ADDR", ""))


def _keys(request: HttpRequest, username: str) -> list[tuple[str, int]]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]  # no raw names in Redis
    return [
        (f"login-fail:user:{name}", settings.LOGIN_FAILURES_PER_USER),
        (f"login-fail:ip:{client_address(request)}", settings.LOGIN_FAILURES_PER_IP),
    ]


def check(request: HttpRequest, username: str) -> None:
    """Raise :class:`LockedOut` if this username or address has failed too often recently."""
    try:
        counts = cache.get_many([key for key, _ in _keys(request, username)])
    except Exception:  # the cache being down must not block or break sign-in
        log.warning("sign-in lockout check skipped: the cache is unreachable", exc_info=True)
        return
    for key, limit in _keys(request, username):
        if int(counts.get(key) or 0) >= limit:
            raise LockedOut(settings.LOGIN_LOCKOUT_SECONDS)


def failed(request: HttpRequest, username: str) -> None:
    """Count a wrong password against the username and the address (each expires after the lockout)."""
    for key, _ in _keys(request, username):
        try:
            cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
        except Exception:  # see check()
            log.warning("sign-in failure not counted: the cache is unreachable", exc_info=True)
            return


def succeeded(request: HttpRequest, username: str) -> None:
    """A right password clears the username's count (not the address's: one good account proves little)."""
    try:
        cache.delete(_keys(request, username)[0][0])
    except Exception:  # see check()
        log.warning("sign-in success not recorded: the cache is unreachable", exc_info=True)
