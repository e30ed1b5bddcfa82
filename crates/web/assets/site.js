// Times are written in UTC; show them in the viewer's zone.
function localTimes(root) {
  // A whole day (a heading of /history) is a UTC day: it stays as written.
  for (const t of root.querySelectorAll("time[datetime]:not([data-date-only])")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) { t.textContent = d.toLocaleString(undefined, {dateStyle: "medium", timeStyle: "short"}); t.title = t.getAttribute("datetime"); }
  }
}
// Folds a name as the server does (seismo_core::fold): no accents, lower case,
// apostrophes and dots dropped, other punctuation a single space.
function fold(text) {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/['.]/g, "").replace(/[^a-z0-9]+/g, " ").trim();
}
// Filter the services table as one types (the form still works without scripts),
// by name, slug and aliases; say so when nothing matches.
function filterServices() {
  const search = document.getElementById("search");
  if (!search) return;
  const q = fold(search.value);
  let shown = 0;
  for (const row of document.querySelectorAll("tr[data-name]")) {
    row.hidden = q !== "" && !row.dataset.name.includes(q);
    if (!row.hidden) shown++;
  }
  const none = document.getElementById("no-match");
  none.querySelector("span").textContent = search.value.trim();
  none.hidden = shown > 0;
}
// Chart axes too: their labels in the reader's zone, and the captions name it.
function localAxes(root) {
  for (const t of root.querySelectorAll("text[data-at]")) {
    const d = new Date(t.dataset.at);
    if (!isNaN(d)) t.textContent = d.toLocaleTimeString(undefined, {hour: "numeric", minute: "2-digit"});
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) for (const z of root.querySelectorAll(".zone")) z.textContent = zone.replace(/_/g, " ");
}
localTimes(document);
localAxes(document);
// Live: when an incident changes, fetch this page again and swap its content, keeping
// what the reader typed in the search box; without scripts, a reload does the same.
// A reader who is writing keeps the page they write on: while a field of the page has
// focus, or one of its forms holds changes not yet sent, the fresh page waits (the
// notice still says what changed), and comes once the field is left untouched.
let edited = false, held = false;
document.addEventListener("input", e => {
  if (e.target.id === "search") filterServices();
  else if (e.target.form) edited = true;
});
function writing() {
  const field = document.activeElement;
  return edited || (field !== null && field.matches("input, textarea, select") &&
    document.querySelector("main").contains(field));
}
function hold() { held = true; document.body.dataset.held = "true"; }
async function refresh() {
  const response = await fetch(location.href, {cache: "no-store"});
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("main");
  if (writing()) return hold();
  const search = document.getElementById("search"), typed = search && search.value;
  document.querySelector("main").replaceWith(fresh);
  if (typed) { document.getElementById("search").value = typed; filterServices(); }
  localTimes(fresh);
  localAxes(fresh);
  held = false; delete document.body.dataset.held;
  document.body.dataset.updates = (Number(document.body.dataset.updates || 0) + 1).toString();
}
if (window.EventSource) {
  const live = document.getElementById("live");
  new EventSource("/api/v1/events").addEventListener("incident", e => {
    const change = JSON.parse(e.data);
    live.textContent = change.text; live.hidden = false;
    if (writing()) hold(); else refresh();
  });
  // Focus moves after the blur event: look once it has landed.
  document.addEventListener("focusout", () => setTimeout(() => { if (held && !writing()) refresh(); }));
}
