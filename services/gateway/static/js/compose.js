// The composer, improved: only the ticked accounts' panels, live counts and previews, media rows added and
// removed in place, and TikTok's rules applied as the person types. Without this module the page does all of it
// on each submit; nothing here is needed to post.

const form = document.getElementById("composer");
if (form) improve(form);

function improve(form) {
  const $ = (selector, root = form) => root.querySelector(selector);
  const $$ = (selector, root = form) => [...root.querySelectorAll(selector)];
  const allowedOrigins = new Set((form.dataset.allowedOrigins || "").split(" ").filter(Boolean));
  const caption = $("[data-caption]");
  const rows = $("[data-media-rows]");
  const rowTemplate = document.getElementById("media-row-template");
  const publish = $("[data-publish]");
  const labels = { now: "Publish now", schedule: "Schedule post", draft: "Save draft" };
  const editing = form.dataset.editing === "true";

  const accountBoxes = () => $$("input[data-account]");
  const ticked = () => accountBoxes().filter((box) => box.checked && !box.disabled);
  const hashtags = (text) => (text.match(/(?<![\p{L}\p{N}_])#[\p{L}\p{N}_]+/gu) || []).length;
  const mentions = (text) => (text.match(/(?<![\p{L}\p{N}_@])@[\p{L}\p{N}_.]+/gu) || []).length;
  const characters = (text) => [...text].length; // code points, as the publisher counts
  const counters = { characters, hashtags, mentions, title: characters };

  function media() {
    return $$("[data-media-row]", rows).map((row) => ({
      url: $("[data-media-url]", row).value.trim(),
      type: $("[data-media-type]", row).value,
      alt: $("[data-media-alt]", row).value.trim(),
      duration: parseFloat($("[data-media-duration]", row).value.replace(",", ".")),
    })).filter((item) => item.url);
  }

  function mediaKind(items) {
    if (!items.length) return "none";
    return items.every((item) => item.type === "image") ? "photo" : "video";
  }

  function showCount(element, text) {
    const used = counters[element.dataset.count](text);
    $("[data-used]", element).textContent = used.toLocaleString("en");
    element.classList.toggle("count--over", used > Number(element.dataset.limit));
  }

  // --- accounts and their panels ----------------------------------------------------------------------------

  function showPanels() {
    if (editing) return; // a post's accounts are all shown: they are not chosen again
    const shown = new Set(ticked().map((box) => box.value));
    for (const panel of $$("[data-panel]")) panel.hidden = !shown.has(panel.dataset.panel);
    const hint = $("[data-panels-hint]");
    if (hint) {
      hint.textContent = shown.size ? "Each account's settings, its own caption if you want one, and a preview."
        : "Choose an account above to see its settings and a preview.";
    }
  }

  function countPlatforms() {
    const chosen = new Set(ticked().map((box) => box.dataset.platform));
    const present = chosen.size ? chosen : new Set(accountBoxes().map((box) => box.dataset.platform));
    for (const line of $$("[data-count-platform]")) {
      line.hidden = present.size > 0 && !present.has(line.dataset.countPlatform);
      for (const count of $$("[data-count]", line)) showCount(count, caption.value);
    }
  }

  // --- previews ---------------------------------------------------------------------------------------------

  function fileName(url) {
    try {
      return decodeURIComponent(new URL(url).pathname.split("/").pop()) || url;
    } catch {
      return url;
    }
  }

  function allowed(url) {
    try {
      const parsed = new URL(url);
      return ["http:", "https:"].includes(parsed.protocol) && allowedOrigins.has(parsed.origin);
    } catch {
      return false;
    }
  }

  // Images are shown only from hosts the page's CSP allows; any other gets its file name instead of a blocked load.
  function showMedia(container, first) {
    const current = container.dataset.shown || "";
    const wanted = first ? `${first.type} ${first.url} ${first.alt}` : "";
    if (current === wanted && container.dataset.ready) return;
    container.dataset.shown = wanted;
    container.dataset.ready = "1";
    container.replaceChildren();
    if (!first) return;
    if (first.type === "image" && allowed(first.url)) {
      const img = document.createElement("img");
      img.src = first.url;
      img.alt = first.alt;
      container.append(img);
    } else {
      const placeholder = document.createElement("span");
      placeholder.className = "preview-placeholder";
      placeholder.textContent = `${first.type === "video" ? "Video" : "Image"}: ${fileName(first.url)}`;
      container.append(placeholder);
    }
  }

  function updatePreview(panel, items) {
    const preview = $("[data-preview]", panel);
    if (!preview) return;
    const override = $("[data-override]", panel);
    const text = override && override.value.trim() ? override.value : caption.value;
    const cut = Number(preview.dataset.cut);
    const letters = [...text];
    const folded = letters.length > cut;
    $("[data-preview-text]", preview).textContent = folded ? letters.slice(0, cut).join("").trimEnd() : text;
    $("[data-preview-more]", preview).hidden = !folded;
    showMedia($("[data-preview-media]", preview), items[0]);
    for (const count of $$("[data-override-counts] [data-count]", panel)) showCount(count, text);
  }

  // --- TikTok -----------------------------------------------------------------------------------------------

  function updateTikTok(panel, kind, items) {
    for (const part of $$("[data-video-only]", panel)) part.hidden = kind === "photo";
    for (const part of $$("[data-photo-only]", panel)) part.hidden = kind !== "photo";
    const commercial = $("[data-commercial]", panel);
    const organic = $('[data-brand="organic"]', panel);
    const branded = $('[data-brand="content"]', panel);
    const on = commercial.checked;
    $("[data-commercial-options]", panel).hidden = !on;
    const brandedOn = on && branded.checked;
    const noun = kind === "photo" ? "photo" : kind === "video" ? "video" : "post";
    $("[data-commercial-label]", panel).textContent = !on ? ""
      : brandedOn ? `Your ${noun} will be labelled “Paid partnership”.`
      : organic.checked ? `Your ${noun} will be labelled “Promotional content”.` : "";
    $("[data-commercial-required]", panel).hidden = !(on && !organic.checked && !branded.checked);
    // Branded content cannot be private: "Only me" is not offered while it is on.
    const selfOnly = $('[data-privacy-level="SELF_ONLY"]', panel);
    if (selfOnly) {
      if (brandedOn && selfOnly.checked) selfOnly.checked = false;
      selfOnly.disabled = brandedOn;
      selfOnly.closest(".check").classList.toggle("check--disabled", brandedOn);
    }
    $("[data-branded-private]", panel).hidden = !brandedOn;
    const title = $("[data-title]", panel);
    if (title) showCount($('[data-count="title"]', panel), title.value);
    const limit = $("[data-max-duration]", panel);
    const warning = $("[data-duration-warning]", panel);
    if (limit && warning) {
      const longest = Math.max(0, ...items.filter((i) => i.type === "video" && i.duration > 0).map((i) => i.duration));
      warning.hidden = !(longest > Number(limit.dataset.maxDuration));
    }
    return { needsChoice: on && !organic.checked && !branded.checked, branded: brandedOn };
  }

  function updateOthers(panel, kind, items) {
    for (const span of $$("[data-facebook-kind] [data-kind]", panel)) span.hidden = span.dataset.kind !== kind;
    const carousel = $("[data-carousel-note]", panel);
    if (carousel) carousel.hidden = items.length < 2;
  }

  // --- the whole form ---------------------------------------------------------------------------------------

  function update() {
    const items = media();
    const kind = mediaKind(items);
    form.dataset.mediaKind = kind;
    showPanels();
    countPlatforms();
    let blocked = false;
    let brandedAny = false;
    const tiktokTicked = ticked().some((box) => box.dataset.platform === "tiktok");
    for (const panel of $$("[data-panel]")) {
      // A post's settings are fixed once it exists: only its captions and media change.
      if (!editing && panel.dataset.platform === "tiktok") {
        const state = updateTikTok(panel, kind, items);
        if (!panel.hidden) {
          blocked ||= state.needsChoice;
          brandedAny ||= state.branded;
        }
      } else if (!editing) {
        updateOthers(panel, kind, items);
      }
      updatePreview(panel, items);
    }
    const consent = $("[data-consent]");
    if (consent && !editing) {
      consent.hidden = !tiktokTicked;
      $("[data-consent-music]", consent).hidden = brandedAny;
      $("[data-consent-branded]", consent).hidden = !brandedAny;
    }
    // TikTok: with the disclosure on, one of its choices must be made before posting.
    publish.disabled = blocked;
    $("[data-commercial-blocked]").hidden = !blocked;
    if (blocked) publish.setAttribute("aria-describedby", "commercial-blocked");
    else publish.removeAttribute("aria-describedby");
    const when = ($("[data-when]:checked") || {}).value || "now";
    publish.textContent = labels[when];
    $("[data-schedule]").hidden = when === "now";
  }

  // --- media rows -------------------------------------------------------------------------------------------

  function renumber() {
    $$("[data-media-row]", rows).forEach((row, index) => {
      for (const number of $$("[data-row-number]", row)) number.textContent = String(index + 1);
      $("[data-remove-media]", row).hidden = false;
    });
  }

  function addRow() {
    const index = Number(rows.dataset.nextIndex);
    rows.dataset.nextIndex = String(index + 1);
    const fragment = rowTemplate.content.cloneNode(true);
    for (const element of fragment.querySelectorAll("[id], [name], [for], [aria-describedby]")) {
      for (const attribute of ["id", "name", "for", "aria-describedby"]) {
        const value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replaceAll("__index__", String(index)));
      }
    }
    const row = fragment.querySelector("[data-media-row]");
    rows.append(fragment);
    renumber();
    $("[data-media-url]", row).focus();
  }

  const videoExtension = /\.(mp4|mov|webm|m4v)$/i;

  rows.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove-media]");
    if (!remove) return;
    const row = remove.closest("[data-media-row]");
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    if (!$$("[data-media-row]", rows).length) addRow();
    else if (next) $("[data-media-url]", next).focus();
    renumber();
    update();
  });

  rows.addEventListener("change", (event) => {
    const url = event.target.closest("[data-media-url]");
    if (url) {
      const type = $("[data-media-type]", url.closest("[data-media-row]"));
      // A guess from the address, until the person chooses the type themselves.
      if (!type.dataset.chosen) {
        try {
          type.value = videoExtension.test(new URL(url.value.trim()).pathname) ? "video" : "image";
        } catch {
          // not an address yet: leave the type as it is
        }
      }
    }
    if (event.target.matches("[data-media-type]")) event.target.dataset.chosen = "1";
    update();
  });

  $("[data-add-media]").addEventListener("click", (event) => {
    event.preventDefault();
    addRow();
    update();
  });

  // Enter in a one-line field would press the first submit button, "Add another": posting takes the button.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("input:not([type=checkbox]):not([type=radio])")) {
      event.preventDefault();
    }
  });

  form.addEventListener("input", (event) => {
    if (event.target.closest("[data-media-rows]") && !event.target.matches("[data-media-duration]")) return;
    update();
  });
  form.addEventListener("change", update);

  // The page comes with a few empty rows for use without JavaScript; with it, empty rows wait for "Add another",
  // but for one when there is no media at all.
  const isEmpty = (row) => ["[data-media-url]", "[data-media-alt]", "[data-media-duration]"]
    .every((field) => !$(field, row).value.trim());
  const allRows = $$("[data-media-row]", rows);
  const emptyRows = allRows.filter(isEmpty);
  for (const row of emptyRows.slice(emptyRows.length === allRows.length ? 1 : 0)) row.remove();

  renumber();
  update();
}
