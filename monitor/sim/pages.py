"""HTML pages of the simulated www.douyin.com whose own JavaScript signs and fetches the web
API, as the real pages do, so that browser-mode collection is tested for real.

Two scripts, as on the real site: the "SDK" wraps `window.fetch` and signs every request to
`/aweme/v1/web/` made from the page, whoever makes it (see monitor/sim/gateway.py), and the
page's own code adds the common parameters (device_platform, aid, version_code,
browser_version...) before it fetches. Every page carries the SDK with a key of its own, and
makes its own first signed request soon after it loads (the home page: `query/user/`).
"""

from __future__ import annotations

import html
import json

# The SDK, with the page key the server issued for this page load (see monitor/sim/gateway.py):
# every request to the web API made from the page, whoever makes it, leaves with verifyFp,
# fp, msToken and a_bogus appended (appended, never replaced: a caller's own copy makes a
# duplicate, which the gateway refuses) and the x-secsdk-web-signature header. When the API
# asks for verification (x-vc-bdturing-parameters), the slider is laid over the page while the
# request stays open.
_SDK = """
<script>
(function () {
  var KID = '%KID%', KEY = '%KEY%';
  function fnv(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
    return ('0000000' + h.toString(16)).slice(-8);
  }
  function token() {
    var t = localStorage.getItem('xmst');
    if (!t) { t = 'sim' + Math.random().toString(36).slice(2) + Date.now(); localStorage.setItem('xmst', t); }
    return t;
  }
  function overlay() {
    // The names are put together here so that the page's source does not look like a wall.
    var id = ['captcha', 'container'].join('_');
    if (document.getElementById(id)) { return; }
    var box = document.createElement('div');
    box.id = id;
    box.style.cssText = 'position:fixed;inset:30% 35%;background:#fff;z-index:9999';
    box.innerHTML = "<div class='" + ['captcha', 'verify', 'image'].join('-') +
      "' style='width:280px;height:160px;background:#ccc'></div>" +
      '<p>请完成下列验证后继续</p>';
    document.body.appendChild(box);
  }
  var signed = /\\/aweme\\/v1\\/web\\//;
  var realFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = typeof input === 'string' ? input : (input instanceof URL ? input.href : input.url);
    if (!signed.test(url)) { return realFetch(input, init); }
    var u = new URL(url, location.href);
    var fp = 'verify_sim' + fnv(KEY + 'fp');
    var extra = 'verifyFp=' + fp + '&fp=' + fp + '&msToken=' + encodeURIComponent(token());
    u = new URL(u.pathname + (u.search ? u.search + '&' : '?') + extra, location.href);
    var bogus = 'page.' + KID + '.' + fnv(KEY + u.search.slice(1));
    u = new URL(u.pathname + u.search + '&a_bogus=' + bogus, location.href);
    var headers = new Headers((init && init.headers) || {});
    headers.append('x-secsdk-web-signature', KID + '.' + fnv(KEY + u.pathname + u.search));
    var options = Object.assign({}, init || {}, {headers: headers});
    return realFetch(u.href, options).then(function (r) {
      if (r.headers.get('x-vc-bdturing-parameters')) { overlay(); }
      return r;
    });
  };
})();
</script>
"""

# The page's own code: the common parameters, then a fetch that the SDK signs.
_APP = """
<script>
(function () {
  function common() {
    var m = navigator.userAgent.match(/Chrome\\/([\\d.]+)/);
    return {device_platform: 'webapp', aid: '6383', channel: 'channel_pc_web',
      update_version_code: '%UPDATE%', pc_client_type: '1', pc_libra_divert: 'Linux',
      version_code: '%VCODE%', version_name: '%VNAME%', cookie_enabled: 'true',
      browser_language: 'zh-CN', browser_platform: 'Linux x86_64', browser_name: 'Chrome',
      browser_version: m ? m[1] : '0', browser_online: String(navigator.onLine),
      engine_name: 'Blink', os_name: 'Linux', platform: 'PC',
      screen_width: String(screen.width), screen_height: String(screen.height)};
  }
  window.simFetch = function (path, params) {
    var query = new URLSearchParams(Object.assign(common(), params)).toString();
    return fetch(path + '?' + query, {credentials: 'include'}).then(function (r) { return r.text(); })
      .then(function (body) { return body ? JSON.parse(body) : null; });
  };
  function show(list) {
    var ul = document.getElementById('list');
    (list || []).forEach(function (a) {
      var li = document.createElement('li');
      li.setAttribute('data-aweme-id', a.aweme_id);
      li.textContent = a.desc;
      ul.appendChild(li);
    });
  }
  var page = %s;
  if (page.kind === 'home') {
    // The home page's own first request, a moment after load (what pingfan waits for).
    setTimeout(function () { simFetch('/aweme/v1/web/query/user/', {}); }, 200);
  } else if (page.kind === 'hashtag') {
    simFetch('/aweme/v1/web/challenge/detail/', {ch_id: page.id}).then(function (d) {
      if (d && d.ch_info) document.getElementById('views').textContent = d.ch_info.view_count + ' 次播放';
    });
    simFetch('/aweme/v1/web/challenge/aweme/', {ch_id: page.id, cursor: '0', count: '20', sort_type: '1'})
      .then(function (d) { show(d && d.aweme_list); document.body.setAttribute('data-loaded', '1'); });
  } else {
    simFetch('/aweme/v1/web/user/profile/other/', {sec_user_id: page.id}).then(function (d) {
      if (d && d.user) document.getElementById('views').textContent = d.user.follower_count + ' 粉丝';
    });
    simFetch('/aweme/v1/web/aweme/post/', {sec_user_id: page.id, max_cursor: '0', count: '18'})
      .then(function (d) { show(d && d.aweme_list); document.body.setAttribute('data-loaded', '1'); });
  }
})();
</script>
"""

_HEAD = (
    "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
    "<link rel='icon' href='data:,'><title>{}</title>"
)


# The web app's version its pages report in their own requests (newer than the constants
# pingfan falls back on, so a test sees which of the two a request carries).
VERSION_CODE, VERSION_NAME, UPDATE_VERSION_CODE = "290400", "29.4.0", "170400"


def _sdk(key: tuple[str, str]) -> str:
    return _SDK.replace("%KID%", key[0]).replace("%KEY%", key[1])


def _app(kind: str, ident: str) -> str:
    spec = json.dumps({"kind": kind, "id": ident})
    return (
        _APP.replace("%s", spec)
        .replace("%VCODE%", VERSION_CODE)
        .replace("%VNAME%", VERSION_NAME)
        .replace("%UPDATE%", UPDATE_VERSION_CODE)
    )


def _page(kind: str, ident: str, title: str, key: tuple[str, str]) -> str:
    return (
        _HEAD.format(f"{html.escape(title)} - 抖音")
        + _sdk(key)
        + f"</head><body><h1>{html.escape(title)}</h1><p id='views'></p><ul id='list'></ul>"
        + _app(kind, ident)
        + "</body></html>"
    )


def hashtag_page(ch_id: str, key: tuple[str, str]) -> str:
    return _page("hashtag", ch_id, "话题", key)


def user_page(sec_user_id: str, key: tuple[str, str]) -> str:
    return _page("user", sec_user_id, "用户主页", key)


def home_page(key: tuple[str, str]) -> str:
    """The home page: the SDK with `key` (id, secret), and the page's own first request."""
    return (
        _HEAD.format("抖音-记录美好生活")
        + _sdk(key)
        + "</head><body><div id='root'></div><ul id='list'></ul>"
        + _app("home", "")
        + "</body></html>"
    )


def captcha_page() -> str:
    """What a browser meets under risk control: the slider verification (never solved)."""
    return (
        _HEAD.format("验证码中间页")
        + "</head><body><div id='captcha_container'><div class='captcha-verify-image'></div>"
        "<p>请完成下列验证后继续</p></div></body></html>"
    )


def login_page() -> str:
    """The login wall shown to a session the site no longer accepts."""
    return (
        _HEAD.format("抖音-记录美好生活")
        + "</head><body><div id='login-pannel'><p>扫码登录</p><p>登录后查看更多精彩内容</p>"
        "</div></body></html>"
    )
