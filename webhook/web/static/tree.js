// Open a folder in place: its entries are read from the same /api/v1 address as its page
// and inserted below it.  Built with textContent only, never HTML strings, so a hostile file
// name stays text.  Without JavaScript every folder is still a link to its own page.
"use strict";
(function () {
  const table = document.getElementById("tree");
  if (!table) return;
  const api = table.dataset.api;   // /api/v1/p/<project>/+/<branch>/tree/
  const page = table.dataset.page; // /p/<project>/+/<branch>/tree/

  function cell(row, text, href, cls) {
    const td = row.insertCell();
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      if (cls) a.className = cls;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function rowFor(entry, depth, subsystems) {
    const row = document.createElement("tr");
    row.className = entry.kind + (entry.root_only ? " unowned" : "") + " opened";
    row.dataset.path = entry.path;
    row.dataset.depth = String(depth);
    const name = cell(row, entry.name + (entry.kind === "folder" ? "/" : ""),
      page + entry.path.split("/").map(encodeURIComponent).join("/"));
    name.style.paddingLeft = (0.6 + 1.4 * depth) + "em";
    if (entry.kind === "folder") name.prepend(toggle());
    const reqs = row.insertCell();
    for (const r of entry.requirements) {
      const chip = document.createElement("span");
      chip.className = "req" + (r.subsystem === "root" ? " root" : "") +
        (r.mode === "advisory" ? " advisory" : "");
      chip.textContent = r.subsystem + " " + r.approvals + "×";
      reqs.appendChild(chip);
    }
    const owners = row.insertCell();
    for (const r of entry.requirements) {
      const s = subsystems[r.subsystem];
      if (!s) continue;
      const div = document.createElement("div");
      div.textContent = r.subsystem + ": " + s.owners.map(
        (o) => o.group ? o.entry + (o.members === null ? " (not visible to you)"
          : " (" + o.members.join(", ") + ")") : o.entry).join(", ");
      owners.appendChild(div);
    }
    return row;
  }

  function toggle() {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "toggle";
    b.textContent = "▸";
    b.setAttribute("aria-label", "open in place");
    return b;
  }

  async function open(row, button) {
    const depth = Number(row.dataset.depth || 0) + 1;
    if (button.dataset.open === "1") {  // close: drop the rows below it that are deeper
      let next = row.nextElementSibling;
      while (next && Number(next.dataset.depth || 0) >= depth) {
        const gone = next;
        next = next.nextElementSibling;
        gone.remove();
      }
      button.dataset.open = "0";
      button.textContent = "▸";
      return;
    }
    const path = row.dataset.path.split("/").map(encodeURIComponent).join("/");
    const answer = await fetch(api + path, { credentials: "same-origin" });
    if (!answer.ok) return;
    const data = await answer.json();
    let after = row;
    for (const entry of data.entries) {
      const child = rowFor(entry, depth, data.subsystems);
      after.after(child);
      after = child;
    }
    if (data.page.pages > 1) {
      const more = document.createElement("tr");
      more.dataset.depth = String(depth);
      cell(more, "… " + (data.page.entries - data.entries.length) + " more: open the folder",
        page + path);
      after.after(more);
    }
    button.dataset.open = "1";
    button.textContent = "▾";
  }

  for (const row of table.querySelectorAll("tr.folder")) {
    row.cells[0].prepend(toggle());
  }
  table.addEventListener("click", (event) => {
    const button = event.target.closest("button.toggle");
    if (button) open(button.closest("tr"), button);
  });
})();
