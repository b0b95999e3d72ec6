// The links we mail carry their token in the URL fragment, which browsers never send to a server.
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const result = document.getElementById("result");

function show(text) { result.hidden = false; result.textContent = text; }

async function call(path, body) {
  const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify(body || {}), credentials: "same-origin"});
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  return {ok: response.ok, data};
}

for (const form of document.querySelectorAll("form[data-action]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = Object.fromEntries(new FormData(form));
    if (form.hasAttribute("data-token")) body.token = token;
    const {ok, data} = await call(form.dataset.action, body);
    if (ok && form.dataset.then === "reload") { location.reload(); return; }
    if (ok && data.status_url) { location.assign(data.status_url); return; }  // a deletion request: follow it
    show(ok ? (data.message || "Done.") : (data.error ? data.error.message : "Something went wrong."));
  });
}

if (document.body.dataset.page === "verify-email") {
  history.replaceState(null, "", location.pathname);
  call("/api/v1/auth/verify-email", {token}).then(({ok, data}) =>
    show(ok ? "Your email address is confirmed." : data.error.message));
}

if (document.getElementById("me")) {
  fetch("/api/v1/me", {credentials: "same-origin"}).then(r => r.ok ? r.json() : null).then(me => {
    if (!me) return;
    document.getElementById("me").textContent =
      `Signed in as ${me.name} (${me.email})` + (me.email_verified ? "" : " — check your inbox to confirm your email.");
    document.getElementById("signed-out").hidden = true;
    document.getElementById("signed-in").hidden = false;
  });
}

for (const button of document.querySelectorAll("button[data-disconnect]")) {
  button.addEventListener("click", async () => {
    const response = await fetch(`/api/v1/accounts/${button.dataset.disconnect}`,
                                 {method: "DELETE", credentials: "same-origin"});
    if (response.ok) location.reload();
    else show((await response.json()).error.message);
  });
}
