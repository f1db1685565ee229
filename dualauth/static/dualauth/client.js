// dualauth's browser client: fetch() for dualauth's HTTP API from a page of the same site, with no build step.
//
//   <script src="{% static 'dualauth/client.js' %}"></script>
//   <script type="module">
//     const auth = dualauth.client({ api: "/api/auth/", refresh: true });
//     const response = await auth.call("GET", "me/");   // a Response; 401 means the sign-in has ended
//   </script>
//
// It sends Django's CSRF token on unsafe methods to this page's own origin, never elsewhere (from its cookie, or
// from csrf/ when the cookie is missing or HttpOnly) and, for tokens kept in HttpOnly cookies (`refresh: true`),
// answers a 401 with one refresh and a retry. Calls that meet a 401 together share one refresh: a second refresh
// with the same, by then rotated, refresh token would be taken for re-use and end the sign-in.
"use strict";

(function (global) {
  function readCookie(name) {
    for (const pair of document.cookie.split("; ")) {
      const [key, ...value] = pair.split("=");
      if (key === name) return decodeURIComponent(value.join("="));
    }
    return null;
  }

  function client({ api = "/api/auth/", csrfCookie = "csrftoken", csrfHeader = "X-CSRFToken", refresh = false } = {}) {
    // Paths are relative to `api` unless they start with "/" or name a scheme; any of them resolves against the page.
    const url = (path) => new URL(/^(\/|[a-z][a-z0-9+.-]*:)/i.test(path) ? path : api + path, location.href);
    let refreshing = null;
    let renewals = 0;

    async function csrfToken() {
      const fromCookie = readCookie(csrfCookie);
      if (fromCookie !== null) return fromCookie;
      const response = await fetch(url("csrf/"), { credentials: "same-origin", headers: { Accept: "application/json" } });
      return readCookie(csrfCookie) ?? (response.ok ? (await response.json()).csrf_token : null);
    }

    const code = (response) =>
      response
        .clone()
        .json()
        .then((body) => body.code)
        .catch(() => null);

    // One request, as is: no refresh. For login and logout, whose answers the caller reads itself.
    async function send(method, path, body) {
      const target = url(path);
      const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
      const unsafe = !["GET", "HEAD", "OPTIONS", "TRACE"].includes(method.toUpperCase());
      const token = unsafe && target.origin === location.origin ? await csrfToken() : null;
      if (token) init.headers[csrfHeader] = token;
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      return fetch(target, init);
    }

    // Resolves to whether the token cookies were renewed: by this refresh, or by another tab's that rotated the
    // same refresh token a moment before (a 401 `refresh_conflict` under REFRESH_REUSE_GRACE); the browser holds
    // that tab's new cookies for this page too.
    function renew() {
      refreshing ??= send("POST", "token/refresh/", {})
        .then(async (response) => {
          const renewed = response.ok || (response.status === 401 && (await code(response)) === "refresh_conflict");
          if (renewed) renewals += 1;
          return renewed;
        })
        .finally(() => {
          refreshing = null;
        });
      return refreshing;
    }

    // A request as the signed-in user; a 401 that survives the refresh means the sign-in has ended
    // (logged out, revoked here or elsewhere, or expired). A request sent before a refresh that has
    // since succeeded is only retried: refreshing again would spend a refresh token for nothing. After
    // another tab's rotation its cookies can land a moment after our answer: a few short waits cover that.
    async function call(method, path, body) {
      const sentAfter = renewals;
      let response = await send(method, path, body);
      if (response.status !== 401 || !refresh) return response;
      if (renewals === sentAfter && !(await renew())) return response;
      for (const wait of [0, 100, 250, 500]) {
        if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
        response = await send(method, path, body);
        if (response.status !== 401) break;
      }
      return response;
    }

    return { call, send, renew, csrfToken };
  }

  global.dualauth = Object.freeze({ client });
})(window);
