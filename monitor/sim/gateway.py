"""The simulated www.douyin.com's signature gateway, as the real one behaves in 2026.

Each page the simulator serves carries an SDK holding a fresh page key (known to the server,
never sent back in clear). The SDK signs every `/aweme/v1/web/` request made from the page,
whoever makes it: it appends `verifyFp`, `fp`, `msToken` and `a_bogus` (a hash of the query
under the page key) and sets the header `x-secsdk-web-signature` (a hash of the whole path and
query). The gateway then answers:

- `403 Sign Invalid` when a security parameter comes twice (someone added one the SDK adds);
- `403 Signature Not Found` on the gateway's endpoints (a video's detail, an account's posts)
  when the page's signature header is missing or wrong;
- HTTP 200 with an empty body elsewhere when the query is not signed by a page.

The http mode's test signer (`monitor.sim.douyin:sign`) is let through, without the page's
signature, only while `Simulator.douyin_test_signer` is true (the default, for http-mode tests
and the demo); browser-mode tests turn it off, so only the page's SDK can sign.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

# Parameters and header only the page's SDK may set: pingfan never does.
SECURITY_PARAMS = ("msToken", "a_bogus", "verifyFp", "fp", "webid", "uifid", "X-Bogus")
SIGNATURE_HEADER = "x-secsdk-web-signature"
# The endpoints behind the new gateway (detail and post list, per f2 PR 446 and dYm PR 28).
GATEWAY_PATHS = frozenset({"/aweme/v1/web/aweme/detail/", "/aweme/v1/web/aweme/post/"})
# The header with which Douyin's API asks the page's SDK to show its slider verification.
VERIFY_HEADER = "x-vc-bdturing-parameters"

Signer = Literal["page", "test-signer"]


def fnv(text: str) -> str:
    """FNV-1a (32 bits) as 8 hex digits; the page's SDK computes the same in JavaScript."""
    value = 2166136261
    for char in text:
        value ^= ord(char)
        value = (value * 16777619) & 0xFFFFFFFF
    return f"{value:08x}"


@dataclass
class PageKeys:
    """The keys handed to the pages' SDK, by key id."""

    keys: dict[str, str] = field(default_factory=dict)

    def issue(self) -> tuple[str, str]:
        kid = f"k{len(self.keys) + 1}"
        self.keys[kid] = secrets.token_hex(8)
        return kid, self.keys[kid]


@dataclass(frozen=True)
class Verdict:
    signer: Signer | None  # who signed it, None when nobody did
    refusal: web.Response | None  # the gateway's answer when it refuses the request


def _refuse(text: str) -> Verdict:
    return Verdict(None, web.Response(status=403, text=text, content_type="text/plain"))


def _page_signed(request: web.Request, keys: PageKeys) -> tuple[bool, str]:
    """Whether the query carries a page's a_bogus, and the page key it names ("" if none)."""
    bogus = request.query.get("a_bogus", "")
    prefix, _, rest = bogus.partition(".")
    kid, _, digest = rest.partition(".")
    key = keys.keys.get(kid, "")
    if prefix != "page" or not key:
        return False, ""
    raw = request.raw_path
    query = raw.partition("?")[2]
    before, sep, _ = query.rpartition("&a_bogus=")
    if not sep or not request.query.get("msToken") or not request.query.get("verifyFp"):
        return False, ""
    return fnv(key + before) == digest, key


def check(request: web.Request, keys: PageKeys, *, test_signer: bool) -> Verdict:
    """The gateway's verdict on one web API request."""
    for name in SECURITY_PARAMS:
        if len(request.query.getall(name, [])) > 1:
            return _refuse("Sign Invalid")
    headers = request.headers.getall(SIGNATURE_HEADER, [])
    if len(headers) > 1 or any("," in value for value in headers):
        return _refuse("Sign Invalid")
    signed, key = _page_signed(request, keys)
    if signed:
        if request.path in GATEWAY_PATHS:
            header = headers[0] if headers else ""
            kid, _, digest = header.partition(".")
            if keys.keys.get(kid) != key or fnv(key + request.raw_path) != digest:
                return _refuse("Signature Not Found")
        return Verdict("page", None)
    if test_signer and request.query.get("msToken") and request.query.get("a_bogus"):
        return Verdict("test-signer", None)
    if request.path in GATEWAY_PATHS:
        return _refuse("Signature Not Found")
    return Verdict(None, None)
