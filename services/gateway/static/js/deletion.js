// A deletion's status page follows it until it is complete: it asks for the status now and then and reloads when
// something changed. Without JavaScript the page has a plain reload link.

const card = document.querySelector("[data-deletion-status]");
const EVERY_MS = 2000;

async function check() {
  try {
    const answer = await fetch(`${location.pathname}?format=json`, { headers: { accept: "application/json" } });
    if (answer.ok) {
      const now = await answer.json();
      const finished = now.steps.filter((step) => step.status === "done").length;
      if (now.status !== card.dataset.deletionStatus || String(finished) !== card.dataset.deletionSteps) {
        location.reload();
        return;
      }
    }
  } catch {
    // Offline for a moment: the next check tries again.
  }
  setTimeout(check, EVERY_MS);
}

if (card && card.dataset.deletionStatus !== "completed") setTimeout(check, EVERY_MS);
