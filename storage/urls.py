"""Connection URLs as they may be shown: in logs, errors and descriptions."""

from __future__ import annotations


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, safe to log. Read as text, not
    parsed: a URL naming several hosts (a Redis Cluster's) is redacted all the same."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    ends = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
    end = min(ends, default=len(rest))
    userinfo, at, hosts = rest[:end].rpartition("@")
    user, colon, _password = userinfo.partition(":")
    if not at or not colon:
        return url
    return f"{scheme}://{user}:***@{hosts}{rest[end:]}"
