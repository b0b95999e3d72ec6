// While a post is on its way, follow its targets and bring the page up to date when one of them changes.
// Without this module the page says so and offers a Refresh link.

const POLL_MS = 2000;
const targets = () => document.getElementById("post-targets");

function shownTargets() {
  const shown = new Map();
  for (const article of document.querySelectorAll("[data-target-id]")) {
    shown.set(article.dataset.targetId, { status: article.dataset.status, steps: Number(article.dataset.steps) });
  }
  return shown;
}

function announce(sentences) {
  const region = document.querySelector(".messages");
  if (!region || sentences.length === 0) return;
  const notice = document.createElement("p");
  notice.className = "notice";
  notice.textContent = sentences.join(" ");
  region.replaceChildren(notice);
}

// The page as the server renders it now: its live parts replace ours, keeping focus where it was when it can.
async function refresh(changedIds) {
  const response = await fetch(window.location.pathname, { credentials: "same-origin" });
  if (!response.ok) return false;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const focusedId = document.activeElement && document.activeElement.id;
  for (const part of fresh.querySelectorAll("[data-live][id]")) {
    const current = document.getElementById(part.id);
    if (current) current.replaceWith(document.importNode(part, true));
  }
  if (focusedId && document.getElementById(focusedId)) document.getElementById(focusedId).focus();
  const sentences = [];
  for (const id of changedIds) {
    const article = document.querySelector(`[data-target-id="${CSS.escape(id)}"]`);
    const chip = article && article.querySelector(".chip");
    if (article && chip) sentences.push(`${article.dataset.label}: ${chip.textContent.trim()}.`);
  }
  announce(sentences);
  return true;
}

async function poll() {
  const section = targets();
  if (!section || !section.hasAttribute("data-pending")) return;
  if (!document.hidden) {
    try {
      const response = await fetch(`/api/v1/posts/${encodeURIComponent(section.dataset.postId)}`, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const post = await response.json();
        const shown = shownTargets();
        const moved = post.targets.filter((t) => (t.timeline || []).length !== shown.get(t.id)?.steps);
        const changed = post.targets.filter((t) => shown.get(t.id)?.status !== t.status).map((t) => t.id);
        // A new step in a timeline is shown quietly; a new status is also announced.
        if (changed.length > 0 || moved.length > 0) await refresh(changed);
      }
    } catch {
      // Offline for a moment: the next round tries again.
    }
  }
  window.setTimeout(poll, POLL_MS);
}

window.setTimeout(poll, POLL_MS);
