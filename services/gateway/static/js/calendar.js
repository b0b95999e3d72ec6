// Keyboard moves in the calendar: arrows go from day to day (and hour to hour in a week), Page Up and Page Down
// to the previous and next month or week. Every cell stays a plain link without this module.

const grid = document.querySelector(".calendar-grid");
const FOCUS_KEY = "postifys.calendar.focus";

function cellsWithLinks() {
  return [...grid.tBodies[0].querySelectorAll("td")].filter((cell) => cell.querySelector("a[href]"));
}

function firstLink(cell) {
  return cell && cell.querySelector("a[href]");
}

function neighbour(cell, key) {
  const rows = [...grid.tBodies[0].rows];
  if (key === "ArrowLeft" || key === "ArrowRight") {
    const cells = cellsWithLinks();
    return cells[cells.indexOf(cell) + (key === "ArrowRight" ? 1 : -1)];
  }
  const step = key === "ArrowDown" ? 1 : -1;
  for (let row = cell.parentElement.sectionRowIndex + step; row >= 0 && row < rows.length; row += step) {
    const candidate = rows[row].cells[cell.cellIndex];
    if (firstLink(candidate)) return candidate;
  }
  return undefined;
}

function go(which) {
  const link = document.querySelector(`a[data-calendar="${which}"]`);
  if (!link) return;
  window.sessionStorage.setItem(FOCUS_KEY, "1");
  window.location.assign(link.href);
}

if (grid) {
  for (const hint of document.querySelectorAll(".calendar-keys")) hint.hidden = false;

  grid.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const cell = event.target.closest("td");
    if (!cell || !grid.tBodies[0].contains(cell)) return;
    if (event.key === "PageUp" || event.key === "PageDown") {
      event.preventDefault();
      go(event.key === "PageUp" ? "previous" : "next");
      return;
    }
    if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) return;
    event.preventDefault();
    const link = firstLink(neighbour(cell, event.key));
    if (link) link.focus();
  });

  // After Page Up or Page Down, carry on in the grid of the page that opened.
  if (window.sessionStorage.getItem(FOCUS_KEY)) {
    window.sessionStorage.removeItem(FOCUS_KEY);
    const start = grid.querySelector("td.day--today a[href], td:not(.day--outside) a[href]");
    if (start) start.focus();
  }
}
