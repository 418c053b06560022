"""HTML pages of the simulated www.douyin.com whose own JavaScript signs and fetches the web
API, as the real pages do, so that browser-mode collection is tested for real.

Two scripts, as on the real site: the "SDK" wraps `window.fetch` and adds `msToken` and
`a_bogus` to every request to `/aweme/v1/web/` made from the page (whoever makes it), and the
page's own code adds the common parameters (device_platform, aid, browser_version...) before
it fetches. Every page (the home page too) carries the SDK.
"""

from __future__ import annotations

import html
import json

# The SDK: msToken from localStorage (xmst), a_bogus from a hash of the query and the
# User-Agent. The simulator checks that they are present, not what they are.
_SDK = """
<script>
(function () {
  function token() {
    var t = localStorage.getItem('xmst');
    if (!t) { t = 'sim' + Math.random().toString(36).slice(2) + Date.now(); localStorage.setItem('xmst', t); }
    return t;
  }
  function bogus(query) {
    var s = query + navigator.userAgent, h = 2166136261;
    for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
    return 'sim' + h.toString(16);
  }
  var signed = /\\/aweme\\/v1\\/web\\//;
  var realFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = typeof input === 'string' ? input : input.url;
    if (signed.test(url) && url.indexOf('a_bogus=') < 0) {
      url += (url.indexOf('?') < 0 ? '?' : '&') + 'msToken=' + encodeURIComponent(token());
      url += '&a_bogus=' + encodeURIComponent(bogus(url.split('?')[1]));
      input = url;
    }
    return realFetch(input, init);
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
    return {device_platform: 'webapp', aid: '6383', channel: 'channel_pc_web', pc_client_type: '1',
      version_code: '190600', version_name: '19.6.0', cookie_enabled: 'true',
      browser_language: 'zh-CN', browser_platform: 'Linux x86_64', browser_name: 'Chrome',
      browser_version: m ? m[1] : '0', browser_online: 'true', engine_name: 'Blink',
      os_name: 'Linux', platform: 'PC', screen_width: '1920', screen_height: '1080'};
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
  if (page.kind === 'hashtag') {
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


def _page(kind: str, ident: str, title: str) -> str:
    spec = json.dumps({"kind": kind, "id": ident})
    return (
        _HEAD.format(f"{html.escape(title)} - 抖音")
        + _SDK
        + f"</head><body><h1>{html.escape(title)}</h1><p id='views'></p><ul id='list'></ul>"
        + _APP.replace("%s", spec)
        + "</body></html>"
    )


def hashtag_page(ch_id: str) -> str:
    return _page("hashtag", ch_id, "话题")


def user_page(sec_user_id: str) -> str:
    return _page("user", sec_user_id, "用户主页")


def home_page() -> str:
    return (
        _HEAD.format("抖音-记录美好生活")
        + _SDK
        + "</head><body><div id='root'></div></body></html>"
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
