// The dualauth demo pages: sign in through the HTTP API, list this user's sign-ins, revoke one, log out.
// Plain JavaScript, no build step. Server data reaches the page through textContent only, never innerHTML:
// a sign-in's user agent is whatever its client chose to send.
"use strict";

(() => {
  const root = document.getElementById("demo");
  const { kind, api, csrfCookie } = root.dataset; // kind: "session", or "jwt" (tokens in HttpOnly cookies)
  const $ = (id) => document.getElementById(id);
  let signedIn = false;

  class SignedOut extends Error {}

  // dualauth's own client (dualauth/static/dualauth/client.js): CSRF header, and with token cookies one refresh
  // and a retry on a 401.
  const auth = dualauth.client({ api, csrfCookie, refresh: kind === "jwt" });

  // A call as the signed-in user; a 401 that survives the client's refresh means this sign-in has ended.
  async function call(method, path) {
    const response = await auth.call(method, path);
    if (response.status === 401) throw new SignedOut();
    if (!response.ok) throw new Error(`${method} ${api}${path}: HTTP ${response.status}`);
    return response.status === 204 ? null : response.json();
  }

  function show(isSignedIn, message, isError = false) {
    signedIn = isSignedIn;
    $("sign-in").hidden = isSignedIn;
    $("signed-in").hidden = !isSignedIn;
    $("status").textContent = message;
    $("status").classList.toggle("error", isError);
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

  function row(signIn) {
    const tr = document.createElement("tr");
    tr.dataset.sessionId = signIn.id;
    const device = cell(signIn.device || "Unknown device");
    device.title = signIn.user_agent;
    if (signIn.current) {
      tr.classList.add("current");
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "this browser";
      device.append(badge);
    }
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "revoke";
    revoke.textContent = "Revoke";
    revoke.addEventListener("click", () => run(() => revokeSignIn(signIn)));
    const actions = cell("");
    actions.append(revoke);
    tr.append(cell(signIn.kind), device, cell(signIn.ip || ""), cell(when(signIn.created_at)));
    tr.append(cell(when(signIn.last_seen_at)), actions);
    return tr;
  }

  async function load() {
    const me = await call("GET", "me/");
    const signIns = await call("GET", "sessions/");
    $("username").textContent = me.user.username;
    $("current-kind").textContent = me.kind;
    $("sign-ins").tBodies[0].replaceChildren(...signIns.map(row));
    show(true, `Up to date at ${new Date().toLocaleTimeString()}.`);
  }

  async function signIn(form) {
    const body = { username: form.elements.username.value, password: form.elements.password.value, kind };
    if (kind === "jwt") body.transport = "cookie";
    const response = await auth.send("POST", "login/", body);
    if (!response.ok) {
      const error = await response.json().catch(() => ({}));
      show(false, error.detail || `Sign-in failed: HTTP ${response.status}`, true);
      return;
    }
    form.reset();
    await load();
  }

  async function revokeSignIn(signIn) {
    await call("DELETE", `sessions/${encodeURIComponent(signIn.id)}/`);
    if (signIn.current) throw new SignedOut();
    await load();
  }

  async function revokeOthers() {
    const { revoked } = await call("POST", "sessions/revoke-others/");
    await load();
    show(true, `Revoked ${revoked} other sign-in${revoked === 1 ? "" : "s"}.`);
  }

  async function logOut() {
    const response = await auth.send("POST", "logout/", {});
    if (!response.ok) throw new Error(`Logout failed: HTTP ${response.status}`);
    show(false, "Logged out.");
  }

  async function run(action) {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof SignedOut)) show(signedIn, error.message, true);
      else if (signedIn) show(false, "Signed out: this sign-in has ended (revoked, logged out or expired).", true);
      else show(false, "Not signed in.");
    }
  }

  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    run(() => signIn(event.target));
  });
  $("refresh").addEventListener("click", () => run(load));
  $("revoke-others").addEventListener("click", () => run(revokeOthers));
  $("logout").addEventListener("click", () => run(logOut));
  run(load);
})();
