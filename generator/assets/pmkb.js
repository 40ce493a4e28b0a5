/* postmortem-kb: phone-first tables and a search that knows the incidents.

   Shipped with the site (assets/pmkb/pmkb.js), loaded from the site itself: no dependency,
   nothing from another host, works from file:// as well.

   1. Tables of the article with a header and three columns or more, one of them long (a title),
      six and more, or wider than the page, become cards below the phone breakpoint (the CSS does the layout from the
      data-label this script copies from the header onto every cell; no column is hidden).
      Tables (two columns or more) of more than FILTER_FROM rows get
      a filter box (every word must appear in the row) and a sort menu; their headers sort too.
      Long tables show the first ROWS_PHONE / ROWS_WIDE matching rows and a button for the rest;
      a link to a row (#service-x) shows and highlights it, whatever the filter hid. After
      Back/Forward, the filter and sort the browser puts back into the box and menu are applied.
   2. Search (Material's and Zensical's): Enter on an exact incident id (PM-2017-001, any case)
      opens that incident's page instead of the best text match, and every result of an
      incident page shows the incident's date and severity. The incidents' ids, pages, dates
      and severities are in assets/pmkb/incidents.js, generated with the site and loaded the
      first time the search is used.
   3. The site's 404 page, at the address of a service's or tag's page that is not there (the
      value is named by one incident, or no longer has a page), opens the value's row of the
      overview instead (services/#service-x).

   With navigation.instant the theme swaps pages without loading scripts again: tables are
   enhanced on each page the theme's document$ announces (or once, without it). */
(function () {
  "use strict";

  var PHONE = "(max-width: 44.984375em)";   // Material's breakpoint below which the layout is one column
  var FILTER_FROM = 12;
  var ROWS_PHONE = 20;
  var ROWS_WIDE = 60;
  var MIN_COLUMNS = 3;
  var MANY_COLUMNS = 6;
  var PRIMARY = ["title", "action item", "action", "problem", "recurring problem", "service", "tag", "owner"];
  var SHORT = 22;            // a column whose every value is at most this long sits inline in a card
  var ID_PATTERN = /^[A-Z][A-Z0-9]*-\d{4}-\d{3,}$/;

  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/assets\/pmkb\/pmkb\.js(\?.*)?$/, "") : "";

  // --- tables ---------------------------------------------------------------------------------

  function text(el) {
    return (el.textContent || "").replace(/\s+/g, " ").trim();
  }

  function durationSeconds(value) {
    // format_duration: "45 min", "2 h 15 min", "3 d 4 h"
    var m = /^(?:(\d+) d)? ?(?:(\d+) h)? ?(?:(\d+) min)?$/.exec(value);
    if (!m || !(m[1] || m[2] || m[3])) return null;
    return (+(m[1] || 0)) * 86400 + (+(m[2] || 0)) * 3600 + (+(m[3] || 0)) * 60;
  }

  function sortKey(value) {
    if (value === "" || value === "—" || value === "-") return null;
    if (/^\d{4}-\d{2}-\d{2}/.test(value)) return [1, value];
    var seconds = durationSeconds(value);
    if (seconds !== null) return [0, seconds];
    var number = /^-?\d+(?:\.\d+)?(?=$|[\s%.)(]|\s?d\b)/.exec(value);
    if (number) return [0, parseFloat(number[0])];
    var overdue = /^overdue (\d+) d/.exec(value);
    if (overdue) return [0, -parseFloat(overdue[1])];
    return [2, value.toLowerCase()];
  }

  function compareKeys(a, b) {
    if (a === null || b === null) return a === b ? 0 : (a === null ? 1 : -1);  // missing last
    if (a[0] !== b[0]) return a[0] - b[0];
    if (a[1] < b[1]) return -1;
    return a[1] > b[1] ? 1 : 0;
  }

  function eligible(table) {
    if (table.hasAttribute("data-pmkb-table") || table.className) return false;  // code tables have a class
    var head = table.tHead;
    if (!head || !head.rows.length || !table.tBodies.length) return false;
    if (table.querySelector("[colspan], [rowspan]")) return false;
    return head.rows[0].cells.length >= 2;
  }

  function enhance(table) {
    var labels = Array.prototype.map.call(table.tHead.rows[0].cells, text);
    var primary = -1;
    PRIMARY.some(function (name) {
      primary = labels.map(function (l) { return l.toLowerCase(); }).indexOf(name);
      return primary >= 0;
    });
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var longest = labels.map(function () { return 0; });
    rows.forEach(function (row) {
      Array.prototype.forEach.call(row.cells, function (cell, i) {
        longest[i] = Math.max(longest[i] || 0, text(cell).length);
      });
    });
    rows.forEach(function (row, index) {
      row.pmkbIndex = index;
      row.pmkbText = text(row).toLowerCase();
      Array.prototype.forEach.call(row.cells, function (cell, i) {
        cell.setAttribute("data-label", labels[i] || "");
        if (i === primary) cell.setAttribute("data-pmkb-primary", "");
        else if (longest[i] <= SHORT) cell.setAttribute("data-pmkb-short", "");
      });
    });
    // Cards where a table would squeeze: three columns or more, and one of them long (a title)
    // or six and more, or the table wider than the page at this width (see fitCards).
    var long = longest.some(function (n) { return n > SHORT; });
    table.pmkbCards = labels.length >= MIN_COLUMNS && (long || labels.length >= MANY_COLUMNS);
    table.pmkbColumns = labels.length;
    table.setAttribute("data-pmkb-table", "");
    fitCards(table);
    if (rows.length > FILTER_FROM) addTools(table, labels, rows);
  }

  function fitCards(table) {
    // A table of three columns or more that does not fit its column is shown as cards too
    // (measured as a table: the cards' CSS applies only below the phone breakpoint).
    table.removeAttribute("data-pmkb-cards");
    var box = table.closest(".md-typeset__scrollwrap") || table.parentElement;
    var overflows = table.pmkbColumns >= MIN_COLUMNS && box && table.scrollWidth > box.clientWidth + 1;
    if (table.pmkbCards || overflows) table.setAttribute("data-pmkb-cards", "");
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      Array.prototype.forEach.call(document.querySelectorAll("table[data-pmkb-table]"), fitCards);
    }, 150);
  });

  // A table in a folded block has no width until the block opens.
  document.addEventListener("toggle", function (e) {
    if (e.target && e.target.open && e.target.querySelectorAll) {
      Array.prototype.forEach.call(e.target.querySelectorAll("table[data-pmkb-table]"), fitCards);
    }
  }, true);

  function addTools(table, labels, rows) {
    var anchor = table.closest(".md-typeset__scrollwrap") || table;
    var tools = document.createElement("div");
    tools.className = "pmkb-tools";
    var filter = document.createElement("input");
    filter.type = "search";
    filter.className = "pmkb-tools__filter";
    filter.placeholder = "Filter " + rows.length + " rows";
    filter.setAttribute("aria-label", "Filter the rows of this table (every word must appear)");
    var sort = document.createElement("select");
    sort.className = "pmkb-tools__sort";
    sort.setAttribute("aria-label", "Sort the rows of this table");
    sort.appendChild(new Option("Sort: as listed", ""));
    labels.forEach(function (label, i) {
      if (!label) return;
      sort.appendChild(new Option(label + " ↑", i + ":asc"));
      sort.appendChild(new Option(label + " ↓", i + ":desc"));
    });
    var count = document.createElement("span");
    count.className = "pmkb-tools__count";
    count.setAttribute("aria-live", "polite");
    tools.appendChild(filter);
    tools.appendChild(sort);
    tools.appendChild(count);
    anchor.parentNode.insertBefore(tools, anchor);

    var more = document.createElement("button");
    more.type = "button";
    more.className = "pmkb-tools__more md-button";
    anchor.parentNode.insertBefore(more, anchor.nextSibling);

    var state = { words: [], column: -1, descending: false, all: false };
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);

    function limit() {
      return window.matchMedia && window.matchMedia(PHONE).matches ? ROWS_PHONE : ROWS_WIDE;
    }

    function apply() {
      var ordered = rows.slice();
      if (state.column >= 0) {
        var column = state.column, sign = state.descending ? -1 : 1;
        ordered.sort(function (a, b) {
          var ka = sortKey(text(a.cells[column] || a)), kb = sortKey(text(b.cells[column] || b));
          if (ka === null || kb === null) return compareKeys(ka, kb) || a.pmkbIndex - b.pmkbIndex;
          return sign * compareKeys(ka, kb) || a.pmkbIndex - b.pmkbIndex;
        });
      }
      var body = table.tBodies[0];
      var matching = 0, shown = 0, cap = state.all ? Infinity : limit();
      ordered.forEach(function (row) {
        var match = state.words.every(function (w) { return row.pmkbText.indexOf(w) >= 0; });
        if (match) matching += 1;
        var visible = match && shown < cap;
        if (visible) shown += 1;
        row.hidden = !visible;
        body.appendChild(row);
      });
      count.textContent = (matching === rows.length ? rows.length + " rows" : matching + " of " + rows.length + " rows")
        + (shown < matching ? ", " + shown + " shown" : "");
      more.hidden = shown >= matching;
      more.textContent = "Show all " + matching + " rows";
      headers.forEach(function (th, i) {
        if (i === state.column) th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
        else th.removeAttribute("aria-sort");
      });
      sort.value = state.column >= 0 ? state.column + (state.descending ? ":desc" : ":asc") : "";
    }

    function words() {
      return filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    }

    function sortFromMenu() {
      var parts = sort.value.split(":");
      state.column = sort.value ? +parts[0] : -1;
      state.descending = parts[1] === "desc";
    }

    filter.addEventListener("input", function () {
      state.words = words();
      apply();
    });
    sort.addEventListener("change", function () {
      sortFromMenu();
      apply();
    });
    headers.forEach(function (th, i) {
      th.classList.add("pmkb-sortable");
      th.tabIndex = 0;
      th.title = "Sort by " + labels[i];
      function toggle() {
        state.descending = state.column === i ? !state.descending : false;
        state.column = i;
        apply();
      }
      th.addEventListener("click", toggle);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
      });
    });
    more.addEventListener("click", function () { state.all = true; apply(); });
    if (window.matchMedia) {
      var query = window.matchMedia(PHONE);
      if (query.addEventListener) query.addEventListener("change", apply);
    }
    apply();

    // Back/Forward to a page loaded anew: the browser puts the typed filter and the chosen sort
    // back into the box and the menu, without an input or change event (Chromium: after the
    // load event, before pageshow). The table follows what they hold, as the reader left it.
    // A page from the back/forward cache keeps its table as it was: nothing changes then.
    function restored() {
      if (!table.isConnected) return;
      var typed = words(), menu = sort.value;
      var current = state.column >= 0 ? state.column + (state.descending ? ":desc" : ":asc") : "";
      if (typed.join(" ") === state.words.join(" ") && menu === current) return;
      state.words = typed;
      sortFromMenu();
      apply();
    }
    restored();
    window.addEventListener("pageshow", restored);

    // A link to a row (services/#service-x: every service and tag has a row of its overview,
    // with a page of its own or without) must show that row even when the filter or "show all"
    // hides it. Coming back with Back to such a link, the restored filter wins (it was typed
    // after the link was followed); a link followed on the page (hashchange) shows its row.
    function reveal() {
      if (!table.isConnected || !location.hash) return;
      var id;
      try { id = decodeURIComponent(location.hash.slice(1)); } catch (err) { return; }
      var target = document.getElementById(id);
      var row = target && table.contains(target) ? target.closest("tr") : null;
      if (!row) return;
      if (row.hidden) {
        filter.value = "";
        state.words = [];
        state.all = true;
        apply();
      }
      Array.prototype.forEach.call(table.querySelectorAll("tr.pmkb-target"), function (r) {
        r.classList.remove("pmkb-target");
      });
      row.classList.add("pmkb-target");
      target.scrollIntoView();
      settle(target);
    }

    // The theme's instant navigation (Material, Zensical) restores a scroll position of its own
    // (the one it saved for the page, or the top) after the new page's content is in, sometimes
    // after reveal() ran: the row is shown but scrolled away. Look again a moment later and
    // scroll it back, unless the reader has scrolled, clicked or typed since.
    function settle(target) {
      var moved = false;
      function mark() { moved = true; }
      var events = ["wheel", "touchstart", "keydown", "pointerdown"];
      events.forEach(function (name) { window.addEventListener(name, mark, { once: true, passive: true }); });
      function again() {
        if (moved || !target.isConnected) return;
        var box = target.getBoundingClientRect();
        if (box.top < 0 || box.bottom > window.innerHeight) target.scrollIntoView();
      }
      [50, 200, 500].forEach(function (ms) { setTimeout(again, ms); });
      setTimeout(function () {
        events.forEach(function (name) { window.removeEventListener(name, mark); });
      }, 600);
    }
    reveal();
    window.addEventListener("hashchange", reveal);
  }

  function enhanceTables() {
    var tables = document.querySelectorAll(".md-content article table, article.md-content__inner table");
    Array.prototype.forEach.call(tables, function (table) {
      if (eligible(table)) enhance(table);
    });
  }

  // --- search ---------------------------------------------------------------------------------

  var incidents = null;      // id -> [page URL relative to the site, date, severity]
  var byPage = null;         // page URL relative to the site -> id
  var loading = false;

  function loadIncidents() {
    if (incidents || loading || !base) return;
    loading = true;
    var tag = document.createElement("script");
    tag.src = base + "assets/pmkb/incidents.js";
    tag.onload = function () {
      incidents = window.pmkbIncidents || {};
      byPage = {};
      Object.keys(incidents).forEach(function (id) { byPage[incidents[id][0]] = id; });
      decorateAll();
    };
    document.head.appendChild(tag);
  }

  function searchInput(el) {
    return el && el.tagName === "INPUT" && !el.classList.contains("pmkb-tools__filter")
      && (el.classList.contains("md-search__input") || !!el.closest("dialog, [role=dialog]"));
  }

  function exactId(value) {
    var id = (value || "").trim().toUpperCase();
    return incidents && ID_PATTERN.test(id) && incidents[id] ? id : null;
  }

  var roots = [];

  function decorate(link) {
    if (link.hasAttribute("data-pmkb-date")) return;
    var href = link.getAttribute("href") || "";
    var url;
    try { url = new URL(href, location.href); } catch (e) { return; }
    var page = url.href.split("#")[0].split("?")[0];
    if (page.indexOf(base) !== 0) return;
    var id = byPage[page.slice(base.length)];
    if (!id) return;
    var info = incidents[id];
    link.setAttribute("data-pmkb-date", info[1]);
    var heading = link.querySelector("h1, h2");
    if (!heading) return;
    var meta = document.createElement("span");
    meta.className = "pmkb-result-date";
    meta.textContent = info[1] + " · " + info[2];
    // Zensical draws its results in a shadow root, which our stylesheet does not reach.
    meta.style.cssText = "display:block;font-size:.7rem;font-weight:400;opacity:.75;margin:.1rem 0 0";
    heading.appendChild(meta);
  }

  function decorateAll() {
    if (!incidents) return;
    roots.forEach(function (root) {
      var links = root.querySelectorAll("a.md-search-result__link, a[role=option]");
      Array.prototype.forEach.call(links, decorate);
    });
  }

  /* The hint this script made in each search root: found by reference, never by its class, so
     an element of a post-mortem's page written with class="pmkb-search-jump" is never taken
     for it (the page's content is the author's; the search box is ours). */
  var hints = [];

  function jumpHint(input) {
    var root = input.getRootNode ? input.getRootNode() : document;
    var hint = null;
    for (var i = 0; i < hints.length; i++) {
      if (hints[i][0] === root) { hint = hints[i][1].isConnected ? hints[i][1] : null; break; }
    }
    var id = exactId(input.value);
    if (!id) {
      if (hint) hint.remove();
      return;
    }
    if (!hint) {
      hint = document.createElement("a");
      hint.className = "pmkb-search-jump";
      hint.style.cssText = "display:block;margin:.4rem .8rem;padding:.4rem .6rem;border-radius:.2rem;"
        + "background:rgba(63,81,181,.12);font-size:.75rem;text-decoration:none;color:var(--md-default-fg-color,inherit)";
      var material = input.closest(".md-search__inner");
      var place = material ? material.querySelector(".md-search-result") : root.querySelector("[role=status]");
      if (place) place.parentNode.insertBefore(hint, place);
      else (input.closest("form, dialog") || input.parentNode).appendChild(hint);
      hints = hints.filter(function (pair) { return pair[0] !== root; });
      hints.push([root, hint]);
    }
    hint.href = base + incidents[id][0];
    hint.textContent = "Enter ↵ opens " + id + " (" + incidents[id][1] + ")";
  }

  function watch(input) {
    var root = input.getRootNode ? input.getRootNode() : document;
    if (roots.indexOf(root) >= 0) return;
    roots.push(root);
    if (window.MutationObserver) new MutationObserver(decorateAll).observe(root, { childList: true, subtree: true });
  }

  /* The search input an event comes from (null for any other element), with the incidents
     loading and the input watched. */
  function searchEvent(e) {
    var input = e.composedPath ? e.composedPath()[0] : e.target;
    if (!searchInput(input)) return null;
    loadIncidents();
    watch(input);
    return input;
  }

  // Capture phase on window: before the theme's own Enter (which opens the best text match).
  window.addEventListener("keydown", function (e) {
    var input = searchEvent(e);
    if (!input || e.key !== "Enter" || e.isComposing) return;
    var id = exactId(input.value);
    if (!id) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    location.href = base + incidents[id][0];
  }, true);
  ["keyup", "input", "focusin"].forEach(function (type) {
    window.addEventListener(type, function (e) {
      var input = searchEvent(e);
      if (input && incidents) jumpHint(input);
    }, true);
  });

  // --- a page that is not there --------------------------------------------------------------

  // A service or tag has a page of its own only while two incidents or more name it, so a
  // bookmark to services/x/ (or tags/x/) can come to the site's 404 page. Every service and tag
  // has a row of its overview with the id service-x (tag-x): the 404 page sends the reader on
  // to it (services/#service-x; services/index.html#service-x for services/x.html), and
  // Back skips the 404 page. From file:// there is no 404 page: nothing happens there.
  var ROW_KINDS = { services: "service", tags: "tag" };

  function leaveNotFound() {
    if (!base || location.href.indexOf(base) !== 0) return;
    var heading = document.querySelector("article h1");
    if (!heading || !/^404\b/.test(text(heading))) return;   // the theme's "404 - Not found"
    var path = location.href.slice(base.length).split(/[?#]/)[0];
    var m = /^(services|tags)\/([^\/]+?)(\.html)?(?:\/.*)?$/.exec(path);
    if (!m || m[2] === "index") return;
    location.replace(base + m[1] + "/" + (m[3] ? "index.html" : "") + "#" + ROW_KINDS[m[1]] + "-" + m[2]);
  }

  // --- start ----------------------------------------------------------------------------------

  function start() {
    leaveNotFound();
    enhanceTables();
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(start);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
