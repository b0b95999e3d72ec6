// Settings: suggests the browser's own time zone beside the list, when it is another one. The list works without.

const field = document.getElementById("timezone");
const suggestion = document.querySelector("[data-zone-suggestion]");
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const offered = field && field.list && [...field.list.options].some((option) => option.value === browserZone);
if (field && suggestion && offered && field.value !== browserZone) {
  suggestion.querySelector("[data-zone-suggestion-name]").textContent = browserZone;
  suggestion.hidden = false;
  suggestion.querySelector("[data-zone-suggestion-use]").addEventListener("click", () => {
    field.value = browserZone;
    suggestion.hidden = true;
    field.focus();
  });
}
