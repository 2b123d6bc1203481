"""Per-client token buckets: in memory (one process) or in Redis (shared by all replicas).

Each client (API key digest, Entra user, or IP address) has a bucket of `burst` tokens that
refills at `per_minute / 60` tokens a second; a request takes one token or is refused with the
seconds until the next token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may proceed and, if not, how long to wait."""

    allowed: bool
    retry_after: float = 0.0


@dataclass(frozen=True, slots=True)
class Policy:
    """How fast buckets refill and how many requests they hold."""

    per_minute: int
    burst: int

    @property
    def rate(self) -> float:
        """Tokens per second."""
        return self.per_minute / 60.0

    @property
    def capacity(self) -> float:
        """A full bucket: at least one token."""
        return float(max(1, self.burst))


class Buckets(Protocol):
    """Where bucket state lives."""

    def take(self, client: str) -> Decision:
        """Take one token from the client's bucket."""
        ...


class MemoryBuckets:
    """Buckets in this process's memory; each gunicorn worker has its own."""

    MAX_CLIENTS = 100_000  # bounds memory under a spray of source addresses

    def __init__(self, policy: Policy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}  # client -> (tokens, time)
        self._lock = threading.Lock()

    def take(self, client: str) -> Decision:
        """Refill for the elapsed time, then take a token if there is one."""
        rate, capacity = self._policy.rate, self._policy.capacity
        with self._lock:
            now = self._clock()
            tokens, then = self._state.get(client, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - then) * rate)
            if len(self._state) >= self.MAX_CLIENTS and client not in self._state:
                self._forget_full(now)
            if tokens >= 1.0:
                self._state[client] = (tokens - 1.0, now)
                return Decision(True)
            self._state[client] = (tokens, now)
            return Decision(False, (1.0 - tokens) / rate)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they are the same as no bucket."""
        rate, capacity = self._policy.rate, self._policy.capacity
        self._state = {c: (t, s) for c, (t, s) in self._state.items()
                       if t + (now - s) * rate < capacity}


# Atomic refill-and-take on the Redis server's clock, so replicas need not agree on time.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""


class RedisBuckets:
    """Buckets in Redis, shared by every worker and replica; fails open if Redis is down."""

    PREFIX = "clausewise:rate:"

    def __init__(self, policy: Policy, client: Any) -> None:
        self._policy = policy
        self._client = client
        self._script = client.register_script(_TAKE)
        self._warned = -60.0

    def close(self) -> None:
        """Release the connections."""
        self._client.close()

    @classmethod
    def from_url(cls, policy: Policy, url: str) -> RedisBuckets:
        """Connect lazily to the Redis at the URL."""
        import redis

        return cls(policy, redis.Redis.from_url(url, socket_timeout=0.5,
                                                socket_connect_timeout=0.5))

    def take(self, client: str) -> Decision:
        """Take a token in Redis; allow the request when Redis cannot be reached."""
        try:
            allowed, wait = self._script(keys=[self.PREFIX + client],
                                         args=[self._policy.rate, self._policy.capacity])
        except Exception as error:  # availability over strictness: rate limits are a guard
            now = time.monotonic()
            if now - self._warned >= 60:  # once a minute, not once a request
                self._warned = now
                log.warning("rate limit store unavailable: %s", type(error).__name__)
            return Decision(True)
        return Decision(bool(int(allowed)), float(wait))


def buckets_for(per_minute: int, burst: int, redis_url: str | None) -> Buckets | None:
    """The configured store, or None when rate limiting is off (per_minute 0)."""
    if per_minute <= 0:
        return None
    policy = Policy(per_minute, burst)
    return RedisBuckets.from_url(policy, redis_url) if redis_url else MemoryBuckets(policy)
