// The playground's script: fills the policy list from GET v1/policies, posts the form to
// POST v1/classify (multipart: image, text, policy) and shows the answer or the error.
// Every value from the server is written with textContent, never parsed as HTML.
"use strict";

const GRADES = ["safe", "borderline", "unsafe"];
const byId = (id) => document.getElementById(id);

function setText(id, value) {
  byId(id).textContent = value === null || value === undefined ? "" : String(value);
}

function score(value) {
  return typeof value === "number" ? value.toFixed(3) : "";
}

function showError(status, body) {
  const error = body && typeof body === "object" && body.error ? body.error : null;
  setText("error-status", status ? `HTTP ${status}` : "No answer");
  setText("error-code", error ? error.code : "");
  setText("error-message", error ? error.message : String(body || "the server sent no error details"));
  byId("error").hidden = false;
}

async function readJson(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function loadPolicies() {
  const select = byId("policy");
  const descriptions = new Map();
  try {
    const response = await fetch("v1/policies");
    const body = await readJson(response);
    if (!response.ok) {
      showError(response.status, body);
      return;
    }
    select.replaceChildren();
    for (const policy of body.policies) {
      const role = policy.default ? " (default)" : policy.shadow ? " (shadow)" : "";
      const option = new Option(`${policy.name}${role}`, policy.name);
      option.selected = policy.default;
      select.append(option);
      descriptions.set(policy.name, policy.description);
    }
  } catch (exc) {
    showError(0, `could not load the policies: ${exc}`);
  }
  const describe = () => setText("policy-description", descriptions.get(select.value) || "");
  select.addEventListener("change", describe);
  describe();
}

function showReading(id, reading) {
  const row = byId(id);
  row.querySelector(".grade").textContent = reading ? reading.grade : "absent";
  for (const grade of GRADES) {
    row.querySelector(`.${grade}`).textContent = reading ? score(reading.scores[grade]) : "";
  }
  row.dataset.grade = reading ? reading.grade : "";
}

function showReasons(reasons) {
  const list = byId("reasons");
  list.replaceChildren();
  for (const reason of reasons) {
    const item = document.createElement("li");
    item.dataset.code = reason.code;
    const code = document.createElement("code");
    code.className = "code";
    code.textContent = reason.code;
    const message = document.createElement("span");
    message.className = "message";
    message.textContent = reason.message;
    item.append(code, ": ", message);
    list.append(item);
  }
}

function showCategories(categories) {
  const body = byId("categories").querySelector("tbody");
  body.replaceChildren();
  for (const [slug, category] of Object.entries(categories)) {
    const row = document.createElement("tr");
    row.id = `category-${slug}`;
    row.className = category.flagged ? "flagged" : "";
    for (const value of [slug, score(category.score), category.flagged ? "flagged" : ""]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    }
    body.append(row);
  }
}

function showResult(result) {
  setText("action", result.action);
  byId("action").className = `action-${result.action}`;
  setText("verdict", result.verdict);
  setText("pattern", result.pattern === null ? "none (needs both an image and a text)" : result.pattern);
  setText("emergent", result.emergent ? "emergent: the pair is more severe than either alone" : "");
  setText("policy-name", result.policy.name);
  setText("policy-version", result.policy.version);
  setText("model-name", result.model.name);
  setText("model-version", result.model.version);
  setText("image-text", result.image_text === null ? "none" : result.image_text);
  setText("result-id", result.id);
  showReading("reading-image", result.modalities.image);
  showReading("reading-text", result.modalities.text);
  showReading("reading-joint", result.modalities.joint);
  showReasons(result.reasons);
  setText("flagged-categories", result.flagged_categories.join(", ") || "none");
  showCategories(result.categories);
  byId("result").hidden = false;
}

async function classify(event) {
  event.preventDefault();
  const form = new FormData();
  const image = byId("image").files[0];
  const text = byId("text").value;
  const policy = byId("policy").value;
  if (image) form.append("image", image);
  if (text.trim()) form.append("text", text);
  if (policy) form.append("policy", policy);
  byId("error").hidden = true;
  byId("result").hidden = true;
  byId("submit").disabled = true;
  setText("status", "Classifying…");
  try {
    const response = await fetch("v1/classify", { method: "POST", body: form });
    const body = await readJson(response);
    if (response.ok) {
      showResult(body);
      setText("status", "Done.");
    } else {
      showError(response.status, body);
      setText("status", "The service refused the request.");
    }
  } catch (exc) {
    showError(0, `the request failed: ${exc}`);
    setText("status", "The request failed.");
  } finally {
    byId("submit").disabled = false;
  }
}

function preview() {
  const image = byId("image").files[0];
  const img = byId("preview");
  if (img.src) URL.revokeObjectURL(img.src);
  img.hidden = !image;
  if (image) img.src = URL.createObjectURL(image);
  else img.removeAttribute("src");
}

document.addEventListener("DOMContentLoaded", () => {
  byId("classify-form").addEventListener("submit", classify);
  byId("image").addEventListener("change", preview);
  loadPolicies();
});
