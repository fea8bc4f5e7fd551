// Token Papers results site: filter and sort the verdict and catalog tables, typeset math with the local KaTeX, copy
// citations.
// Plain browser JavaScript with no dependencies; the filter state lives in the URL hash so a filtered view can be shared.
(function () {
  "use strict";

  function initTable(table) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var selects = document.querySelectorAll("select[data-filter]");
    var search = document.getElementById("f-search");
    var allProfiles = document.getElementById("f-all-profiles");
    var shown = document.getElementById("shown-count");
    var none = document.getElementById("no-rows");

    function state() {
      var s = {};
      selects.forEach(function (el) { if (el.value) s[el.dataset.filter] = el.value; });
      if (search && search.value.trim()) s.q = search.value.trim();
      if (allProfiles && allProfiles.checked) s.profiles = "all";
      return s;
    }

    function apply() {
      var s = state();
      var q = (s.q || "").toLowerCase();
      var n = 0;
      rows.forEach(function (tr) {
        // verdict rows of other profiles wait for "every profile"; catalog rows have no profile to hide
        var ok = (s.profiles === "all" || tr.dataset.headline === undefined || tr.dataset.headline === "1");
        selects.forEach(function (el) {
          if (el.value && tr.dataset[el.dataset.filter] !== el.value) ok = false;
        });
        if (ok && q && tr.textContent.toLowerCase().indexOf(q) < 0) ok = false;
        tr.hidden = !ok;
        if (ok) n += 1;
      });
      if (shown) shown.textContent = String(n);
      if (none) none.hidden = n > 0;
      document.querySelectorAll("button[data-quick]").forEach(function (b) {
        b.classList.toggle("active", s[b.dataset.quick] === b.dataset.value);
      });
      var hash = Object.keys(s).map(function (k) {
        return encodeURIComponent(k) + "=" + encodeURIComponent(s[k]);
      }).join("&");
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", hash ? "#" + hash : window.location.pathname);
      }
    }

    function restore() {
      var h = window.location.hash.replace(/^#/, "");
      if (!h) return;
      h.split("&").forEach(function (pair) {
        var kv = pair.split("=");
        var k = decodeURIComponent(kv[0] || ""), v = decodeURIComponent(kv[1] || "");
        selects.forEach(function (el) {
          if (el.dataset.filter === k && Array.prototype.some.call(el.options, function (o) { return o.value === v; })) {
            el.value = v;
          }
        });
        if (k === "q" && search) search.value = v;
        if (k === "profiles" && allProfiles) allProfiles.checked = v === "all";
      });
    }

    function sortBy(th, index) {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var numeric = th.dataset.sort === "number";
      var key = function (tr) {
        var td = tr.cells[index];
        if (numeric) {
          var x = parseFloat(td.dataset.value);
          return isNaN(x) ? Infinity : x;
        }
        return td.textContent.trim().toLowerCase();
      };
      var sorted = rows.slice().sort(function (a, b) {
        var ka = key(a), kb = key(b);
        var c = ka < kb ? -1 : ka > kb ? 1 : 0;
        return asc ? c : -c;
      });
      sorted.forEach(function (tr) { tbody.appendChild(tr); });
    }

    table.querySelectorAll("th[data-sort]").forEach(function (th, i) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(th, i); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(th, i); });
    });
    selects.forEach(function (el) { el.addEventListener("change", apply); });
    if (search) search.addEventListener("input", apply);
    if (allProfiles) allProfiles.addEventListener("change", apply);
    document.querySelectorAll("button[data-quick]").forEach(function (b) {
      b.addEventListener("click", function () {
        var el = document.querySelector('select[data-filter="' + b.dataset.quick + '"]');
        if (!el) return;
        el.value = el.value === b.dataset.value ? "" : b.dataset.value;
        apply();
      });
    });
    var reset = document.getElementById("f-reset");
    if (reset) {
      reset.addEventListener("click", function () {
        selects.forEach(function (el) { el.value = ""; });
        if (search) search.value = "";
        if (allProfiles) allProfiles.checked = false;
        apply();
      });
    }
    restore();
    apply();
  }

  function initCopy() {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () {
        var src = document.getElementById(b.dataset.copy);
        if (!src || !navigator.clipboard) return;
        navigator.clipboard.writeText(src.textContent).then(function () {
          b.textContent = "Copied";
        }, function () {
          b.textContent = "Select and copy";
        });
      });
    });
  }

  function initMath() {
    if (typeof window.renderMathInElement !== "function") return;
    window.renderMathInElement(document.body, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "\\[", right: "\\]", display: true },
        { left: "\\(", right: "\\)", display: false },
        { left: "$", right: "$", display: false }
      ],
      ignoredClasses: ["bibtex", "cmd", "jp-OutputArea", "verdicts"],
      throwOnError: false,
      strict: "ignore"
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("verdicts") || document.getElementById("catalog");
    if (table) initTable(table);
    initCopy();
    initMath();
  });
})();
