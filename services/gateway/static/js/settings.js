// Settings: suggests the browser's own time zone beside the list, when it is another one. The list works without.

const select = document.getElementById("timezone");
const suggestion = document.querySelector("[data-zone-suggestion]");
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const offered = select && [...select.options].some((option) => option.value === browserZone);
if (select && suggestion && offered && select.value !== browserZone) {
  suggestion.querySelector("[data-zone-suggestion-name]").textContent = browserZone;
  suggestion.hidden = false;
  suggestion.querySelector("[data-zone-suggestion-use]").addEventListener("click", () => {
    select.value = browserZone;
    suggestion.hidden = true;
    select.focus();
  });
}
