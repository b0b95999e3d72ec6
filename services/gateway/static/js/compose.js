// The composer, improved: only the ticked accounts' panels, live counts and previews, media rows added and
// removed in place, TikTok's rules applied as the person types, uploads with a progress bar per file (dropped or
// chosen), more of the library without leaving the page, and the publisher's refusals shown before submitting.
// Without this module the page does all of it on each submit; nothing here is needed to post.

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

  // The library's ticked files first, in the order shown, then the addresses typed: the order of the post.
  function media() {
    const chosen = $$("[data-library-choice]:checked").map((box) => {
      const item = box.closest("[data-library-item]");
      return {
        url: "", type: box.dataset.kind || "image", thumbnail: box.dataset.thumbnail,
        alt: $("[data-library-alt-text]", item).value.trim(), duration: parseFloat(box.dataset.duration),
      };
    });
    return chosen.concat($$("[data-media-row]", rows).map((row) => ({
      url: $("[data-media-url]", row).value.trim(),
      type: $("[data-media-type]", row).value,
      alt: $("[data-media-alt]", row).value.trim(),
      duration: parseFloat($("[data-media-duration]", row).value.replace(",", ".")),
    })).filter((item) => item.url));
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
    const wanted = first ? `${first.type} ${first.url} ${first.thumbnail} ${first.alt}` : "";
    if (current === wanted && container.dataset.ready) return;
    container.dataset.shown = wanted;
    container.dataset.ready = "1";
    container.replaceChildren();
    if (!first) return;
    if (first.thumbnail) {
      const img = document.createElement("img");
      img.src = first.thumbnail;
      img.alt = first.alt;
      container.append(img);
    } else if (first.type === "image" && allowed(first.url)) {
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
    // An unconfirmed email keeps it disabled whatever is chosen: the page explains it beside the form.
    const locked = publish.hasAttribute("data-locked");
    publish.disabled = blocked || locked;
    $("[data-commercial-blocked]").hidden = !blocked;
    if (locked) publish.setAttribute("aria-describedby", "publish-locked");
    else if (blocked) publish.setAttribute("aria-describedby", "commercial-blocked");
    else publish.removeAttribute("aria-describedby");
    const when = ($("[data-when]:checked") || {}).value || "now";
    publish.textContent = labels[when];
    $("[data-schedule]").hidden = when === "now";
    for (const box of $$("[data-library-choice]")) {
      $("[data-library-alt]", box.closest("[data-library-item]")).hidden = !box.checked;
    }
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
  form.addEventListener("change", (event) => {
    update();
    if (!event.target.matches("[data-upload-input]")) scheduleCheck();
  });

  // --- the library ------------------------------------------------------------------------------------------

  const library = $("[data-library]");
  const libraryItems = $("[data-library-items]");
  const itemTemplate = document.getElementById("library-item-template");

  function minutes(seconds) {
    const whole = Math.round(seconds);
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  }

  // The same card the server renders (compose/library_item.html), for a file just uploaded or a further page.
  function libraryCard(item) {
    const probe = item.probe || {};
    const duration = probe.duration_sec == null ? "" : String(probe.duration_sec);
    const detail = [item.kind === "video" ? "Video" : "Image"];
    if (duration) detail.push(minutes(probe.duration_sec));
    if (probe.width && probe.height) detail.push(`${probe.width} × ${probe.height}`);
    const fragment = itemTemplate.content.cloneNode(true);
    for (const element of fragment.querySelectorAll("[id], [name], [for], [value], [data-library-item]")) {
      for (const attribute of ["id", "name", "for", "value", "data-library-item"]) {
        const value = element.getAttribute(attribute);
        if (value && value.includes("__id__")) element.setAttribute(attribute, value.replaceAll("__id__", item.id));
      }
    }
    const thumbnail = `/api/v1/media/${item.id}/thumbnail`;
    const box = fragment.querySelector("[data-library-choice]");
    Object.assign(box.dataset, { kind: item.kind, duration, thumbnail });
    const img = fragment.querySelector("[data-library-thumbnail]");
    img.src = thumbnail;
    img.hidden = false;
    for (const name of fragment.querySelectorAll("[data-library-name]")) name.textContent = item.name;
    fragment.querySelector("[data-library-detail]").textContent = detail.join(" · ");
    fragment.querySelector("[data-library-kind]").value = item.kind;
    fragment.querySelector("[data-library-length]").value = duration;
    return fragment;
  }

  function addToLibrary(item, { chosen, first }) {
    if (libraryItems.querySelector(`[data-library-item="${item.id}"]`)) return;
    const card = libraryCard(item);
    const box = card.querySelector("[data-library-choice]");
    box.checked = chosen;
    if (first) libraryItems.prepend(card);
    else libraryItems.append(card);
    library.open = true;
  }

  const older = $("[data-library-more]");
  if (older) {
    older.addEventListener("click", async (event) => {
      event.preventDefault();
      const next = $("[data-library-next]");
      older.disabled = true;
      try {
        const answer = await fetch(`/api/v1/media?limit=12&cursor=${encodeURIComponent(next.value)}`,
          { headers: { Accept: "application/json" } });
        if (!answer.ok) throw new Error(String(answer.status));
        const page = await answer.json();
        for (const item of page.items) addToLibrary(item, { chosen: false, first: false });
        if (page.next_cursor) next.value = page.next_cursor;
        else { older.remove(); next.remove(); }
      } catch {
        say("More of your library could not be loaded just now. Try again in a moment.");
      } finally {
        older.disabled = false;
      }
      update();
    });
  }

  // --- uploads ----------------------------------------------------------------------------------------------

  const uploadInput = $("[data-upload-input]");
  const dropZone = $("[data-drop-zone]");
  const uploadList = $("[data-upload-list]");
  const announcer = $("[data-announce]");
  const CHUNK = 2 * 1024 * 1024;
  const RETRIES = 5;
  let uploadCount = 0;

  function say(text) {
    announcer.textContent = "";
    setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function send(method, url, { body = null, headers = {}, onProgress = null } = {}) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open(method, url);
      for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
      if (onProgress) {
        request.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) onProgress(event.loaded, event.total);
        });
      }
      request.addEventListener("load", () => resolve(request));
      request.addEventListener("error", () => reject(new Error("The connection was lost.")));
      request.addEventListener("abort", () => reject(new Error("The upload was stopped.")));
      request.send(body);
    });
  }

  function refusal(request) {
    try {
      return JSON.parse(request.responseText).error.message;
    } catch {
      return "Postifys could not take this file just now. Try again in a moment.";
    }
  }

  const wait = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

  async function uploadImage(file, bar) {
    const body = new FormData();
    body.append("file", file, file.name);
    const answer = await send("POST", "/api/v1/media", {
      body, onProgress: (loaded, total) => { bar.value = Math.min(file.size, Math.round(file.size * loaded / total)); },
    });
    if (answer.status !== 201) throw new Error(refusal(answer));
    return JSON.parse(answer.responseText);
  }

  // Resumable, in chunks: after a dropped connection it asks the server where the upload stands and goes on
  // from there, so nothing the server kept is sent again.
  async function uploadVideo(file, bar, status) {
    const created = await fetch("/api/v1/media/uploads", {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ name: file.name, type: file.type || "video/mp4", size: file.size }),
    });
    const upload = await created.json();
    if (created.status !== 201) throw new Error(upload.error ? upload.error.message : "The upload could not start.");
    let offset = 0;
    let failures = 0;
    for (;;) {
      try {
        const answer = await send("PATCH", upload.location, {
          body: file.slice(offset, offset + CHUNK),
          headers: { "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset),
                     "Tus-Resumable": "1.0.0" },
          onProgress: (loaded) => { bar.value = Math.min(file.size, offset + loaded); },
        });
        if (answer.status === 201) return JSON.parse(answer.responseText);
        if (answer.status === 204) {
          offset = Number(answer.getResponseHeader("Upload-Offset"));
          bar.value = offset;
          failures = 0;
          continue;
        }
        if (answer.status !== 409 && answer.status < 500) throw new Error(refusal(answer));
      } catch (error) {
        if (error.message && !/connection|stopped/.test(error.message)) throw error;
      }
      failures += 1;
      if (failures > RETRIES) throw new Error("The connection kept dropping. Try again when it is steadier.");
      status.textContent = "Connection lost; resuming…";
      await wait(500 * 2 ** (failures - 1));
      try {
        const where = await send("HEAD", upload.location);
        if (where.status === 200) offset = Number(where.getResponseHeader("Upload-Offset"));
      } catch {
        // still away: the next round tries again
      }
      bar.value = offset;
    }
  }

  async function uploadOne(file) {
    uploadCount += 1;
    const item = document.createElement("li");
    item.className = "upload-item";
    const name = document.createElement("span");
    name.className = "upload-name";
    name.id = `upload-${uploadCount}-name`;
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = Math.max(1, file.size);
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    const status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "Uploading…";
    item.append(name, bar, status);
    uploadList.append(item);
    uploadList.hidden = false;
    const video = (file.type || "").startsWith("video/") || /\.(mp4|mov|m4v|webm)$/i.test(file.name);
    try {
      const uploaded = video ? await uploadVideo(file, bar, status) : await uploadImage(file, bar);
      bar.value = bar.max;
      status.textContent = "Uploaded and chosen";
      item.classList.add("upload-item--done");
      addToLibrary(uploaded, { chosen: true, first: true });
      say(`${file.name} is uploaded and chosen for this post.`);
      update();
      scheduleCheck();
    } catch (error) {
      item.classList.add("upload-item--failed");
      status.textContent = `Not uploaded: ${error.message}`;
      say(`${file.name} was not uploaded: ${error.message}`);
    }
  }

  async function uploadAll(files) {
    for (const file of files) await uploadOne(file);
  }

  if (uploadInput) {
    $("[data-upload-button]").hidden = true; // files go up as soon as they are chosen
    $("[data-drop-hint]").hidden = false;
    uploadInput.addEventListener("change", async () => {
      const files = [...uploadInput.files];
      await uploadAll(files);
      uploadInput.value = "";
    });
    for (const name of ["dragenter", "dragover"]) {
      dropZone.addEventListener(name, (event) => {
        event.preventDefault();
        dropZone.classList.add("drop-zone--over");
      });
    }
    dropZone.addEventListener("dragleave", () => dropZone.classList.remove("drop-zone--over"));
    dropZone.addEventListener("drop", (event) => {
      event.preventDefault();
      dropZone.classList.remove("drop-zone--over");
      uploadAll([...event.dataTransfer.files]);
    });
  }

  // --- the publisher's refusals, before submitting ----------------------------------------------------------

  let checkTimer = null;
  let checkRound = 0;
  const liveInvalid = new Set();
  let problemsShown = 0;

  function scheduleCheck() {
    if (editing || !form.dataset.check) return;
    clearTimeout(checkTimer);
    checkTimer = setTimeout(runCheck, 400);
  }

  async function runCheck() {
    const round = ++checkRound;
    const body = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (typeof value === "string") body.append(name, value);
    let answer;
    try {
      const response = await fetch(form.dataset.check, { method: "POST", body, headers: { Accept: "application/json" } });
      if (!response.ok) return;
      answer = await response.json();
    } catch {
      return; // the check only helps: the publisher still checks on submit
    }
    if (round !== checkRound || !answer.checked) return;
    showProblems(answer.errors || {});
  }

  function message(text) {
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = "Error:";
    return [hidden, ` ${text}`];
  }

  function showProblems(errors) {
    for (const old of $$("[data-live-error]")) old.remove();
    for (const id of liveInvalid) document.getElementById(id)?.removeAttribute("aria-invalid");
    liveInvalid.clear();
    const mediaMessage = $('[data-check-message="media"]');
    const mediaSentences = [];
    const general = [];
    let count = 0;
    for (const [key, text] of Object.entries(errors)) {
      count += 1;
      if (key === "media" || key.startsWith("library-") || key.startsWith("media-")) { mediaSentences.push(text); continue; }
      const field = document.getElementById(key);
      const container = field && (field.closest(".field") || field.closest("fieldset"));
      if (!container) { general.push(text); continue; }
      const line = document.createElement("p");
      line.className = "field-error";
      line.id = `${key}-check`;
      line.dataset.liveError = "";
      line.append(...message(text));
      const anchor = [...container.children].filter((child) => child.matches("legend, label, .hint")).pop();
      if (anchor) anchor.after(line);
      else container.prepend(line);
      if (!field.getAttribute("aria-invalid")) {
        field.setAttribute("aria-invalid", "true");
        liveInvalid.add(key);
      }
    }
    mediaMessage.replaceChildren(...(mediaSentences.length ? message(mediaSentences.concat(general).join(" ")) : []));
    mediaMessage.hidden = !mediaSentences.length;
    if (!mediaSentences.length && general.length) {
      mediaMessage.replaceChildren(...message(general.join(" ")));
      mediaMessage.hidden = false;
    }
    if (count !== problemsShown) {
      say(count ? `This post cannot be published as it is: ${count === 1 ? "1 problem is" : `${count} problems are`}`
        + ` shown next to ${count === 1 ? "its field" : "their fields"}.` : "The problems shown are solved.");
    }
    problemsShown = count;
  }

  // The page comes with a few empty rows for use without JavaScript; with it, empty rows wait for "Add another",
  // but for one when there is no media at all.
  const isEmpty = (row) => ["[data-media-url]", "[data-media-alt]", "[data-media-duration]"]
    .every((field) => !$(field, row).value.trim());
  const allRows = $$("[data-media-row]", rows);
  const emptyRows = allRows.filter(isEmpty);
  for (const row of emptyRows.slice(emptyRows.length === allRows.length ? 1 : 0)) row.remove();

  renumber();
  update();
  if ($$("[data-library-choice]:checked").length && ticked().length) scheduleCheck();
}
