// dualauth's browser client: fetch() for dualauth's HTTP API from a page of the same site, with no build step.
//
//   <script src="{% static 'dualauth/client.js' %}"></script>
//   const auth = dualauth.client({ api: "/api/auth/", refresh: true });
//   const response = await auth.call("GET", "me/");   // a Response; 401 means the sign-in has ended
//
// It sends Django's CSRF token on unsafe methods (from its cookie, fetched from csrf/ when there is none yet, or
// none since a logout cleared it) and, for tokens kept in HttpOnly cookies (`refresh: true`), answers a 401 with
// one refresh and a retry. Calls that meet a 401 together share one refresh: a second refresh with the same,
// by then rotated, refresh token would be taken for re-use and end the sign-in.
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
    const url = (path) => (/^(\/|https?:)/.test(path) ? path : api + path);
    let refreshing = null;

    async function csrfToken() {
      if (readCookie(csrfCookie) === null) await fetch(url("csrf/"), { credentials: "same-origin" });
      return readCookie(csrfCookie);
    }

    // One request, as is: no refresh. For login and logout, whose answers the caller reads itself.
    async function send(method, path, body) {
      const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
      if (!["GET", "HEAD", "OPTIONS"].includes(method)) init.headers[csrfHeader] = await csrfToken();
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      return fetch(url(path), init);
    }

    // Resolves to whether the token cookies were renewed.
    function renew() {
      refreshing ??= send("POST", "token/refresh/", {})
        .then((response) => response.ok)
        .finally(() => {
          refreshing = null;
        });
      return refreshing;
    }

    // A request as the signed-in user; a 401 that survives the refresh means the sign-in has ended
    // (logged out, revoked here or elsewhere, or expired).
    async function call(method, path, body) {
      const response = await send(method, path, body);
      if (response.status !== 401 || !refresh || !(await renew())) return response;
      return send(method, path, body);
    }

    return { call, send, renew, csrfToken };
  }

  global.dualauth = Object.freeze({ client });
})(window);
