// Shared improvements for every page; each screen adds its own module. Pages work without any of this.

// Focus the error summary, so keyboard and screen-reader users hear what went wrong first.
const summary = document.getElementById("error-summary");
if (summary) summary.focus();

// Fill hidden "timezone" fields with the browser's zone (sign-up, first visit), when a form has one.
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
for (const input of document.querySelectorAll("input[data-browser-timezone]")) {
  if (!input.value && browserZone) input.value = browserZone;
}

// Someone still on the UTC default is offered the browser's zone once, unless they said to keep UTC.
const offer = document.querySelector("form[data-timezone-offer]");
const KEEP = "postifys.keep-utc";
if (offer && browserZone && browserZone !== "UTC" && browserZone !== "Etc/UTC" && !localStorage.getItem(KEEP)) {
  offer.querySelector("[data-browser-timezone-name]").textContent = browserZone;
  offer.hidden = false;
  offer.querySelector("[data-timezone-keep]").addEventListener("click", () => {
    localStorage.setItem(KEEP, "1");
    offer.hidden = true;
  });
}

// A form submits once: a double click must not send it twice (the server's idempotency key is the real guard).
for (const form of document.querySelectorAll("form")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    setTimeout(() => { delete form.dataset.submitted; }, 4000);
  });
}

// Confirmation steps that name what is destroyed are forms of their own; this only asks again when JS runs.
for (const button of document.querySelectorAll("button[data-confirm]")) {
  button.addEventListener("click", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
}
