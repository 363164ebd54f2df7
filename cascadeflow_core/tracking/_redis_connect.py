"""Opening Redis from a URL: one server, a Cluster or a Sentinel-managed master; and back to a URL.

URL forms (the ones other libraries use):

- ``redis://[user:pass@]host:port/db``, ``rediss://...``, ``unix:///path?db=0``: one server;
- ``redis+cluster://[user:pass@]host:port,host:port``: a Redis Cluster (any reachable nodes; the client
  discovers the rest and follows slot moves and failovers);
- ``redis+sentinel://[user:pass@]host:port,host:port/service_name[/db]``: the master Sentinel names for
  ``service_name`` (the password is the master's; ``?sentinel_password=`` for the Sentinels'). The client
  asks the Sentinels again when the master fails over.

A store keeps the URL so it can be pickled (multiprocessing workers reconnect from it); ``url_of``
recovers a URL from a client built by hand, when its settings are plain.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .._errors import ConfigError

__all__ = ["CONNECT_TIMEOUT_S", "SOCKET_TIMEOUT_S", "open_client", "url_of"]

# Cluster and Sentinel clients get timeouts unless the URL sets them: a hung node must fail the call
# (the tracker then fails open or closed as configured), never hang a worker.
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 5.0
_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel")


def _hosts(netloc: str, field: str) -> list[tuple[str, int]]:
    hostpart = netloc.rsplit("@", 1)[-1]
    out = []
    for item in filter(None, hostpart.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(
                field, f"{item!r} is not host:port", "e.g. redis+cluster://10.0.0.1:7000,10.0.0.2:7000"
            )
        out.append((host.strip("[]"), int(port)))
    if not out:
        raise ConfigError(
            field, "names no host", "e.g. redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster"
        )
    return out


def _auth(netloc: str) -> dict[str, Any]:
    if "@" not in netloc:
        return {}
    userinfo = netloc.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    out: dict[str, Any] = {}
    if user:
        out["username"] = unquote(user)
    if password:
        out["password"] = unquote(password)
    return out


def _timeouts(query: dict[str, list[str]]) -> dict[str, float]:
    def one(name: str, default: float) -> float:
        raw = query.get(name, [str(default)])[0]
        try:
            return float(raw)
        except ValueError as e:
            raise ConfigError(f"url ?{name}", f"{raw!r} is not a number of seconds", f"e.g. ?{name}=5") from e

    return {
        "socket_timeout": one("socket_timeout", SOCKET_TIMEOUT_S),
        "socket_connect_timeout": one("socket_connect_timeout", CONNECT_TIMEOUT_S),
    }


def open_client(url: str) -> Any:
    """A ``redis.Redis`` or ``redis.cluster.RedisCluster`` client for ``url`` (forms in the module doc)."""
    import redis

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        raise ConfigError(
            "RedisStore.url",
            f"unknown scheme {scheme!r} in {_hide(url)!r}",
            "use redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://",
        )
    if "+" not in scheme:
        return redis.Redis.from_url(url)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    kw: dict[str, Any] = {**_auth(parts.netloc), **_timeouts(query)}
    if scheme.startswith("rediss"):
        kw["ssl"] = True
    if scheme.endswith("+cluster"):
        from redis.cluster import ClusterNode, RedisCluster

        nodes = [ClusterNode(h, p) for h, p in _hosts(parts.netloc, "RedisStore.url")]
        return RedisCluster(startup_nodes=nodes, **kw)
    from redis.sentinel import Sentinel

    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ConfigError(
            "RedisStore.url",
            "a sentinel URL needs the service name",
            "e.g. redis+sentinel://h:26379/mymaster",
        )
    if len(path) > 1:
        kw["db"] = int(path[1])
    sentinel_kw = {k: v for k, v in kw.items() if k in ("socket_timeout", "socket_connect_timeout", "ssl")}
    if "sentinel_password" in query:
        sentinel_kw["password"] = query["sentinel_password"][0]
    sentinel = Sentinel(_hosts(parts.netloc, "RedisStore.url"), sentinel_kwargs=sentinel_kw, **kw)
    return sentinel.master_for(unquote(path[0]))


def url_of(client: Any) -> str | None:
    """A URL that reopens ``client`` (a plain, cluster or Sentinel-managed client), or None if unknown."""
    try:
        from redis.cluster import RedisCluster
        from redis.sentinel import SentinelConnectionPool
    except ImportError:  # pragma: no cover - redis missing: no client to describe either
        return None
    if isinstance(client, RedisCluster):
        nodes = ",".join(f"{n.host}:{n.port}" for n in client.get_nodes())
        kw = client.nodes_manager.connection_kwargs
        return f"redis+cluster://{_userinfo(kw)}{nodes}"
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        return None
    kw = pool.connection_kwargs
    if isinstance(pool, SentinelConnectionPool):
        sentinels = ",".join(
            f"{s.connection_pool.connection_kwargs['host']}:{s.connection_pool.connection_kwargs['port']}"
            for s in pool.sentinel_manager.sentinels
        )
        return f"redis+sentinel://{_userinfo(kw)}{sentinels}/{quote(pool.service_name)}/{kw.get('db', 0)}"
    if "path" in kw:
        return f"unix://{_userinfo(kw)}{kw['path']}?db={kw.get('db', 0)}"
    if "host" in kw:
        return f"redis://{_userinfo(kw)}{kw['host']}:{kw.get('port', 6379)}/{kw.get('db', 0)}"
    return None


def _userinfo(kw: dict[str, Any]) -> str:
    user, password = kw.get("username"), kw.get("password")
    if not user and not password:
        return ""
    return f"{quote(user or '', safe='')}:{quote(password or '', safe='')}@"


def _hide(url: str) -> str:
    """The URL without its password (never shown in errors or reprs)."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
