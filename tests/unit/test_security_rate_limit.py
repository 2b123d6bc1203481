"""Token buckets: in memory, and in a real local redis-server (shared by replicas)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from server import create_app
from server.security.rate_limit import MemoryBuckets, Policy, RedisBuckets, buckets_for
from server.settings import Settings
from tests.fakes import HashingEmbedder


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_allows_a_burst_then_refuses() -> None:
    buckets = MemoryBuckets(Policy(per_minute=60, burst=3), Clock())
    decisions = [buckets.take("key:a") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after == pytest.approx(1.0)


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    clock = Clock()
    buckets = MemoryBuckets(Policy(per_minute=120, burst=2), clock)
    assert [buckets.take("c").allowed for _ in range(3)] == [True, True, False]
    clock.now += 0.5  # one token at two a second
    assert [buckets.take("c").allowed for _ in range(2)] == [True, False]
    clock.now += 3600  # a long pause refills only to the burst
    assert [buckets.take("c").allowed for _ in range(3)] == [True, True, False]


def test_retry_after_says_when_the_next_token_comes() -> None:
    clock = Clock()
    buckets = MemoryBuckets(Policy(per_minute=6, burst=1), clock)
    buckets.take("c")
    clock.now += 4.0
    assert buckets.take("c").retry_after == pytest.approx(6.0)


def test_clients_have_separate_buckets() -> None:
    buckets = MemoryBuckets(Policy(per_minute=60, burst=1), Clock())
    assert buckets.take("ip:a").allowed and buckets.take("ip:b").allowed
    assert not buckets.take("ip:a").allowed


def test_memory_is_bounded_under_many_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MemoryBuckets, "MAX_CLIENTS", 10)
    clock = Clock()
    buckets = MemoryBuckets(Policy(per_minute=60, burst=2), clock)
    for n in range(10):
        buckets.take(f"ip:{n}")
    clock.now += 10  # all refilled: forgettable
    buckets.take("ip:new")
    assert len(buckets._state) == 1


def test_rate_limit_off_and_store_choice() -> None:
    assert buckets_for(0, 10, None) is None
    assert isinstance(buckets_for(60, 10, None), MemoryBuckets)
    store = buckets_for(60, 10, "redis://127.0.0.1:1/0")
    assert isinstance(store, RedisBuckets)
    store.close()


@pytest.fixture
def opened() -> Iterator[list[RedisBuckets]]:
    """Bucket stores to close after the test."""
    stores: list[RedisBuckets] = []
    yield stores
    for store in stores:
        store.close()


def connect(opened: list[RedisBuckets], policy: Policy, url: str) -> RedisBuckets:
    store = RedisBuckets.from_url(policy, url)
    opened.append(store)
    return store


def test_redis_down_fails_open(caplog: pytest.LogCaptureFixture,
                               opened: list[RedisBuckets]) -> None:
    buckets = connect(opened, Policy(60, 1), f"redis://127.0.0.1:{_free_port()}/0")
    assert all(buckets.take("c").allowed for _ in range(3))
    assert "unavailable" in caplog.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on loopback, no persistence (tools/system-deps.sh installs it)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: run tools/system-deps.sh"
    port = _free_port()
    directory: Path = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        with redis.Redis.from_url(url) as client:
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_redis_buckets_allow_a_burst_then_refuse(redis_url: str,
                                                opened: list[RedisBuckets]) -> None:
    buckets = connect(opened, Policy(per_minute=60, burst=3), redis_url)
    decisions = [buckets.take("key:burst") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 0.9 < decisions[-1].retry_after <= 1.0


def test_redis_buckets_are_shared_between_replicas(redis_url: str,
                                                  opened: list[RedisBuckets]) -> None:
    one = connect(opened, Policy(per_minute=60, burst=2), redis_url)
    two = connect(opened, Policy(per_minute=60, burst=2), redis_url)
    assert one.take("key:shared").allowed and two.take("key:shared").allowed
    assert not one.take("key:shared").allowed and not two.take("key:shared").allowed
    assert one.take("key:someone-else").allowed


def test_redis_buckets_refill_and_expire(redis_url: str, opened: list[RedisBuckets]) -> None:
    buckets = connect(opened, Policy(per_minute=600, burst=1), redis_url)
    assert buckets.take("key:refill").allowed and not buckets.take("key:refill").allowed
    time.sleep(0.12)  # ten tokens a second
    assert buckets.take("key:refill").allowed
    with redis.Redis.from_url(redis_url) as client:
        ttl = client.pttl(RedisBuckets.PREFIX + "key:refill")
    assert 0 < ttl <= 1100  # idle buckets vanish once they would be full again


def test_two_replicas_share_a_clients_limit_through_redis(redis_url: str,
                                                         settings: Settings) -> None:
    configured = replace(settings, redis_url=redis_url, rate_limit_per_minute=60,
                         rate_limit_burst=2)
    replicas = [create_app(configured, embedder=HashingEmbedder(), load="now")
                for _ in range(2)]
    text = {"text": "The provider may use customer data to train its models."}
    statuses = [replicas[n % 2].test_client().post("/api/v1/suggest", json=text).status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]
    for replica in replicas:
        buckets = replica.extensions["clausewise.security"].buckets
        assert isinstance(buckets, RedisBuckets)
        buckets.close()
