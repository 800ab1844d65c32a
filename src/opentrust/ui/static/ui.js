// opentrust ui: progressive enhancement only. Every page works without this file (filters and sorting are
// query parameters answered by the server); with it, table columns sort in place, the inventory filters as you
// type, and the guard log refreshes itself. Text from the server is inserted with textContent, never as HTML.
"use strict";

(function () {
  function cellValue(row, index, kind) {
    var cell = row.children[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-value");
    var text = raw !== null ? raw : cell.textContent.trim();
    if (kind === "num") {
      var n = parseFloat(text);
      return isNaN(n) ? -Infinity : n;
    }
    return text.toLowerCase();
  }

  function makeSortable(table) {
    var headers = table.querySelectorAll("thead th[data-sort]");
    headers.forEach(function (th) {
      var index = Array.prototype.indexOf.call(th.parentNode.children, th);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var kind = th.getAttribute("data-sort");
        rows.sort(function (a, b) {
          var x = cellValue(a, index, kind), y = cellValue(b, index, kind);
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function filterAsYouType(input) {
    var table = document.getElementById(input.getAttribute("data-filter-table"));
    if (!table) return;
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
  }

  function td(text, cls) {
    var c = document.createElement("td");
    c.textContent = text;
    if (cls) c.className = cls;
    return c;
  }

  function guardRow(d) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-seq", String(d.seq));
    var th = document.createElement("th");
    th.scope = "row";
    th.className = "num";
    th.textContent = String(d.seq);
    tr.appendChild(th);
    tr.appendChild(td((d.ts || "").slice(0, 19).replace("T", " ")));
    tr.appendChild(td(d.direction || ""));
    tr.appendChild(td(d.endpoint || ""));
    var decision = td(d.decision || "");
    decision.className = "decision";
    tr.appendChild(decision);
    tr.appendChild(td((d.rules || []).map(function (r) { return r.id + " " + (r.action || ""); }).join(", ") || "—"));
    tr.appendChild(td(d.guard_ms === null || d.guard_ms === undefined ? "—" : String(d.guard_ms), "num"));
    return tr;
  }

  function liveGuard(table) {
    var url = table.getAttribute("data-live");
    var params = new URLSearchParams(window.location.search);
    if (params.get("page") && params.get("page") !== "1") return; // only the newest page follows the log
    function newest() {
      var first = table.tBodies[0].querySelector("tr[data-seq]");
      return first ? parseInt(first.getAttribute("data-seq"), 10) : 0;
    }
    function poll() {
      var q = new URLSearchParams(params);
      q.set("after", String(newest()));
      fetch(url + "?" + q.toString(), { headers: { accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !data.items) return;
          var body = table.tBodies[0];
          var empty = body.querySelector("td[colspan]");
          var fresh = data.items.filter(function (d) { return d.seq > newest(); });
          fresh.sort(function (a, b) { return a.seq - b.seq; });
          fresh.forEach(function (d) {
            if (empty) { empty.parentNode.remove(); empty = null; }
            body.insertBefore(guardRow(d), body.firstChild);
          });
          table.setAttribute("data-refreshed", new Date().toISOString());
        })
        .catch(function () { /* the server stopped: keep the page as it is */ });
    }
    window.setInterval(poll, 3000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(makeSortable);
    document.querySelectorAll("input[data-filter-table]").forEach(filterAsYouType);
    document.querySelectorAll("table[data-live]").forEach(liveGuard);
    document.documentElement.setAttribute("data-enhanced", "1");
  });
})();
