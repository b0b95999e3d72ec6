// The mailed links carry their token in the URL fragment, which browsers never send to a server. This moves it
// into the form and out of the address bar (and the history); without JavaScript the person pastes it instead.
const form = document.querySelector("form[data-token-form]");
const token = new URLSearchParams(location.hash.slice(1)).get("token");

if (form && token) {
  history.replaceState(null, "", location.pathname + location.search);
  form.elements.namedItem("token").value = token;
  form.querySelector("[data-token-field]").hidden = true;
  if (form.hasAttribute("data-auto-submit")) {
    form.querySelector("[data-token-working]").hidden = false;
    form.requestSubmit();
  } else {
    form.elements.namedItem("password").focus();
  }
}
