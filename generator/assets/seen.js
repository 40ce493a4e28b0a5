/* postmortem-kb: "Have we seen this?" - paste symptoms, get the nearest past incidents.

   Everything runs in this page, offline: the model is exported by generator/seen.py as a local
   script (assets/pmkb/seen-model.<hash>.js, loaded once per browser tab and kept across the
   theme's instant navigation), and this script tokenises and scores exactly as
   generator/similarity.py does, so the answers are those of `pmkb similar --text "..."`.
   Each function below names the Python it mirrors; floating-point operations are done in the
   same order, so scores agree to the last bit. No library, no network, no HTML from data
   (every value is set as text). */
(function () {
  "use strict";

  var MODEL_FORMAT = 1;
  var DEBOUNCE_MS = 120;

  var root = document.getElementById("pmkb-seen");
  var script = document.currentScript;
  if (!root || !script || !script.src) return;
  var state = window.__pmkbSeen || (window.__pmkbSeen = { models: {} });

  // --- loading the model ------------------------------------------------------------------

  /* The model script sets window.__pmkbSeenModel; one promise per URL, kept in the window, so
     coming back to the page (instant navigation re-runs this script) does not load it again. */
  function loadModel(url) {
    if (state.models[url]) return state.models[url];
    var promise = new Promise(function (resolve, reject) {
      var el = document.createElement("script");
      el.src = url;
      el.async = true;
      el.onload = function () {
        var raw = window.__pmkbSeenModel;
        window.__pmkbSeenModel = undefined;
        if (!raw) { reject(new Error("the model script defined no model")); return; }
        try { resolve(prepare(raw)); } catch (e) { reject(e); }
      };
      el.onerror = function () { reject(new Error("cannot load " + url)); };
      document.head.appendChild(el);
    });
    promise.catch(function () { delete state.models[url]; });
    state.models[url] = promise;
    return promise;
  }

  function charClass(ranges) {
    var out = "";
    for (var i = 0; i < ranges.length; i++) {
      var a = ranges[i][0], b = ranges[i][1];
      out += "\\u{" + a.toString(16) + "}" + (b > a ? "-\\u{" + b.toString(16) + "}" : "");
    }
    return out;
  }

  /* Decode the model: the tokenizer's patterns from the exported code-point ranges, the
     posting lists of every term, and every weight (SimilarityIndex._weigh). */
  function prepare(M) {
    if (M.format !== MODEL_FORMAT) {
      throw new Error("the model has format " + M.format + ", this page reads format " + MODEL_FORMAT +
                      ": reload the page");
    }
    var C = M.tokenizer.classes;
    var unspaced = charClass(C.unspaced), token = charClass(C.token);
    var word = charClass(C.word), space = charClass(C.space);
    var T = {
      stop: new Set(M.tokenizer.stop),
      minLength: M.tokenizer.min_length,
      maxLength: M.tokenizer.max_length,
      log1p: M.tokenizer.log1p,
      // Tokenizer.clean / count (similarity.py: _HTML_COMMENT, _HTML_TAG, _LINK_TARGET, _URL, _TOKEN)
      comment: /<!--[\s\S]*?(?:-->|$)/g,
      tag: /<\/?[A-Za-z][^>]*>/g,
      linkTarget: /\]\([^)]*\)/g,
      // (re.IGNORECASE spelt out: an "i" flag would also fold the \\w class of the lookbehind)
      url: new RegExp("(?<![" + word + "])(?:[hH][tT][tT][pP][sS\u017f]?|[fF][tT][pP])://[^" + space + "]+|" +
                      "(?<![" + word + "])[wW][wW][wW]\\.[^" + space + "]+", "gu"),
      token: new RegExp("[" + unspaced + "]+|[" + token + "]+", "gu"),
      asciiToken: /[a-z0-9]+/g,
      unspacedStart: new RegExp("^[" + unspaced + "]", "u"),
      unspacedChar: new RegExp("^[" + unspaced + "]$", "u"),
      unspacedRun: new RegExp("[" + unspaced + "]+", "gu"),
      hasLetter: new RegExp("[" + charClass(C.letter) + "]", "u"),
      cache: new Map()
    };
    var V = M.terms.length, B = M.blocks.length, N = M.docs.length;
    var termIndex = new Map();
    for (var j = 0; j < V; j++) termIndex.set(M.terms[j], j);
    var columns = new Array(V * B);
    var lists = M.postings || M.weights || [];
    var c, k, row, list;
    for (c = 0; c < V * B; c++) {
      list = lists[c] || [];
      var rows = new Int32Array(list.length / 2), values = new Float64Array(list.length / 2);
      row = 0;
      for (k = 0; k < list.length; k += 2) {
        row += list[k];
        rows[k / 2] = row;
        values[k / 2] = M.postings ? M.tf[list[k + 1]] * M.idf[c % V] : list[k + 1];  // a = tf * idf
      }
      columns[c] = { rows: rows, w: values };
    }
    if (M.postings) {
      // Per row and block: sum of a * a in column order (numpy.bincount), then the block's
      // scale sqrt(block weight) / norm; per row: sum of (a * scale)^2 in column order
      // (scikit-learn's normalize), then weight = (a * scale) / sqrt(sum).
      var blockSq = new Float64Array(N * B), rowSq = new Float64Array(N), scale = new Float64Array(N * B);
      for (c = 0; c < V * B; c++) {
        var b0 = Math.floor(c / V), col = columns[c];
        for (k = 0; k < col.rows.length; k++) blockSq[col.rows[k] * B + b0] += col.w[k] * col.w[k];
      }
      for (k = 0; k < N * B; k++) {
        var norm = Math.sqrt(blockSq[k]);
        scale[k] = Math.sqrt(M.block_weights[k % B]) / (norm > 0 ? norm : 1.0);
      }
      for (c = 0; c < V * B; c++) {
        var b1 = Math.floor(c / V), col1 = columns[c];
        for (k = 0; k < col1.rows.length; k++) {
          var v = col1.w[k] * scale[col1.rows[k] * B + b1];
          col1.w[k] = v;
          rowSq[col1.rows[k]] += v * v;
        }
      }
      for (c = 0; c < V * B; c++) {
        var col2 = columns[c];
        for (k = 0; k < col2.rows.length; k++) {
          var s = rowSq[col2.rows[k]];
          if (s !== 0) col2.w[k] = col2.w[k] / Math.sqrt(s);
        }
      }
    }
    var runs = new Map();
    Object.keys(M.runs || {}).forEach(function (key) { runs.set(Number(key), M.runs[key]); });
    return { M: M, T: T, V: V, B: B, N: N, termIndex: termIndex, columns: columns, runs: runs,
             scores: new Float64Array(N) };
  }

  // --- the tokenizer (similarity.Tokenizer) -----------------------------------------------

  var ASCII = /^[\x00-\x7f]*$/;

  function codePoints(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var u = s.charCodeAt(i);
      if (u < 0xd800 || u > 0xdbff || i + 1 >= s.length) n++;
      else { var d = s.charCodeAt(i + 1); if (d < 0xdc00 || d > 0xdfff) n++; else { n++; i++; } }
    }
    return n;
  }

  /* Tokenizer.clean: lower-cased NFKC text without HTML comments, tags, URLs or link targets. */
  function clean(T, text) {
    if (!text) return "";
    if (text.indexOf("<") >= 0) text = text.replace(T.comment, " ").replace(T.tag, " ");
    if (text.indexOf("](") >= 0) text = text.replace(T.linkTarget, "]");
    if (text.indexOf("://") >= 0 || text.indexOf("www.") >= 0) text = text.replace(T.url, " ");
    if (!ASCII.test(text)) text = text.normalize("NFKC");
    return text.toLowerCase();
  }

  /* similarity.s_stem: Harman's S-stemmer. */
  function sStem(w) {
    if (w.length < 4 || !/^[a-z]+$/.test(w)) return w;
    if (/ies$/.test(w) && !/(?:eies|aies)$/.test(w)) return w.slice(0, -3) + "y";
    if (/es$/.test(w) && !/(?:aes|ees|oes)$/.test(w)) return w.slice(0, -1);
    if (/s$/.test(w) && !/(?:us|ss|is)$/.test(w)) return w.slice(0, -1);
    return w;
  }

  /* Tokenizer._terms_of: character bigrams of unspaced scripts; otherwise the stemmed word,
     unless it is a stop word, too short or long, or has no letter. */
  function termsOf(T, w) {
    var got = T.cache.get(w);
    if (got) return got;
    var out = [];
    if (T.unspacedStart.test(w)) {
      if (w.length > 1) for (var i = 0; i < w.length - 1; i++) out.push(w.slice(i, i + 2));
      else out.push(w);
    } else {
      var n = codePoints(w);
      if (!(n < T.minLength || n > T.maxLength || T.stop.has(w) || !T.hasLetter.test(w))) {
        var stem = sStem(w);
        if (!T.stop.has(stem)) out.push(stem);
      }
    }
    T.cache.set(w, out);
    return out;
  }

  /* Tokenizer.count: term -> count of the cleaned text. */
  function countTerms(T, text) {
    text = clean(T, text);
    var re = ASCII.test(text) ? T.asciiToken : T.token;
    re.lastIndex = 0;
    var words = new Map(), m;
    while ((m = re.exec(text)) !== null) words.set(m[0], (words.get(m[0]) || 0) + 1);
    var counts = new Map();
    words.forEach(function (n, w) {
      var terms = termsOf(T, w);
      for (var i = 0; i < terms.length; i++) counts.set(terms[i], (counts.get(terms[i]) || 0) + n);
    });
    return { counts: counts, words: words, text: text };
  }

  // --- the query vector and the scores (SimilarityIndex.vectorize, similar_to) ------------

  /* rint(x * 10^d) / 10^d, rounding half to even: numpy.round. */
  function round(x, d) {
    var f = Math.pow(10, d), y = x * f, r = Math.round(y);
    if (r - y === 0.5 && r % 2 !== 0) r -= 1;
    return r / f;
  }

  function vectorize(S, text) {
    var M = S.M, T = S.T, V = S.V, B = S.B;
    var got = countTerms(T, text);
    // _block_tfs: every weighted field but services gets the text; tf += share * (1 + ln n)
    var tfs = [];
    for (var b = 0; b < B; b++) tfs.push(new Map());
    for (var f = 0; f < M.fields.length; f++) {
      var tf = tfs[M.fields[f][0]], share = M.fields[f][1];
      got.counts.forEach(function (n, term) {
        var log1p = n <= T.log1p.length ? T.log1p[n - 1] : 1.0 + Math.log(n);
        tf.set(term, (tf.has(term) ? tf.get(term) : 0.0) + share * log1p);
      });
    }
    var cols = [], unknown = [];
    for (b = 0; b < B; b++) {
      tfs[b].forEach(function (value, term) {
        var j = S.termIndex.get(term);
        if (j !== undefined) cols.push([b * V + j, value]);
      });
    }
    got.words.forEach(function (n, w) {    // words none of whose terms any post-mortem has
      var terms = termsOf(T, w);
      if (terms.length && terms.every(function (t) { return !S.termIndex.has(t); })) unknown.push(w);
    });
    cols.sort(function (x, y) { return x[0] - y[0]; });
    // _weigh: a = tf * idf; per block sqrt(weight) / norm; then the row L2-normalised
    var blockSq = new Float64Array(B), i;
    for (i = 0; i < cols.length; i++) {
      cols[i][1] = cols[i][1] * M.idf[cols[i][0] % V];
      blockSq[Math.floor(cols[i][0] / V)] += cols[i][1] * cols[i][1];
    }
    var rowSq = 0, q = [];
    for (i = 0; i < cols.length; i++) {
      var bb = Math.floor(cols[i][0] / V), norm = Math.sqrt(blockSq[bb]);
      var v = cols[i][1] * (Math.sqrt(M.block_weights[bb]) / (norm > 0 ? norm : 1.0));
      if (v !== 0) { q.push([cols[i][0], v]); rowSq += v * v; }
    }
    if (rowSq !== 0) {
      var root2 = Math.sqrt(rowSq);
      for (i = 0; i < q.length; i++) q[i][1] = q[i][1] / root2;
    }
    return { q: q, text: got.text, unknown: unknown, words: got.words };
  }

  function weightAt(col, row) {
    var rows = col.rows, lo = 0, hi = rows.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (rows[mid] === row) return col.w[mid];
      if (rows[mid] < row) lo = mid + 1; else hi = mid - 1;
    }
    return 0;
  }

  /* SimilarityIndex.similar_to(text): up to top_k rows by descending score (rounded to
     score_decimals), ties by row; scores below min_score left out. */
  function similar(S, text) {
    var M = S.M, set = M.settings, vec = vectorize(S, text), scores = S.scores;
    var touched = [], i, k;
    if (!vec.q.length) return { results: [], vec: vec };
    for (i = 0; i < vec.q.length; i++) {
      var col = S.columns[vec.q[i][0]], qv = vec.q[i][1];
      for (k = 0; k < col.rows.length; k++) {
        var r = col.rows[k];
        if (scores[r] === 0) touched.push(r);
        scores[r] += col.w[k] * qv;
      }
    }
    var ranked = [];
    for (i = 0; i < touched.length; i++) {   // (weights are > 0: a touched score never returns to 0)
      ranked.push([round(scores[touched[i]], set.score_decimals), touched[i]]);
      scores[touched[i]] = 0;
    }
    ranked.sort(function (x, y) { return y[0] - x[0] || x[1] - y[1]; });
    var out = [];
    for (i = 0; i < ranked.length && out.length < set.top_k; i++) {
      if (ranked[i][0] < set.min_score || ranked[i][0] <= 0) break;
      out.push({ row: ranked[i][1], score: ranked[i][0], terms: topTerms(S, vec, ranked[i][1]) });
    }
    return { results: out, vec: vec };
  }

  /* SimilarityIndex._top_terms: the terms with the largest products of the two weights,
     shown in their written form (Tokenizer.display), bigrams joined (readable_terms). */
  function topTerms(S, vec, row) {
    var M = S.M, V = S.V, limit = M.settings.terms_per_link, totals = new Map();
    for (var i = 0; i < vec.q.length; i++) {
      var w = weightAt(S.columns[vec.q[i][0]], row);
      if (w === 0) continue;
      var j = vec.q[i][0] % V, p = vec.q[i][1] * w;
      if (p === 0) continue;
      totals.set(j, (totals.has(j) ? totals.get(j) : 0.0) + p);
    }
    var items = [];
    totals.forEach(function (value, j) { items.push([round(value, M.settings.score_decimals), j]); });
    items.sort(function (x, y) { return (y[0] - x[0]) || (x[1] - y[1]); });
    var terms = items.slice(0, 3 * limit).map(function (it) {
      return Object.prototype.hasOwnProperty.call(M.display, it[1]) ? M.display[it[1]] : M.terms[it[1]];
    });
    return readableTerms(S, terms, limit, vec.text, row);
  }

  /* similarity.readable_terms with the two texts (the query's, the post-mortem's): join
     character bigrams back into runs both texts contain. */
  function readableTerms(S, terms, limit, queryText, row) {
    var T = S.T, i;
    var any = false;
    for (i = 0; i < terms.length; i++) if (terms[i].codePointAt(0) >= 0x0e00) { any = true; break; }
    if (!any) return terms.slice(0, limit);
    function unspaced(term) {
      for (var x = 0; x < term.length; x++) if (!T.unspacedChar.test(term[x])) return false;
      return true;
    }
    var bigrams = terms.filter(function (t) { return t.length === 2 && unspaced(t); });
    if (!bigrams.length) return terms.slice(0, limit);
    var query = queryText.normalize("NFKC").toLowerCase();
    var docRuns = S.runs.get(row) || [];
    function canJoin(run) {
      if (query.indexOf(run) < 0) return false;
      for (var r = 0; r < docRuns.length; r++) if (docRuns[r].indexOf(run) >= 0) return true;
      return false;
    }
    var out = [];
    terms.forEach(function (term) {
      if (term.length === 2 && unspaced(term)) {
        for (var s = 0; s < out.length; s++) if (unspaced(out[s]) && out[s].indexOf(term) >= 0) return;
        for (var o = 0; o < out.length; o++) {
          var seen = out[o];
          if (!unspaced(seen)) continue;
          if (seen.endsWith(term[0]) && canJoin(seen + term[1])) { out[o] = seen + term[1]; return; }
          if (seen.startsWith(term[1]) && canJoin(term[0] + seen)) { out[o] = term[0] + seen; return; }
        }
      }
      out.push(term);
    });
    var joined = true;
    while (joined) {   // runs that overlap by a character
      joined = false;
      for (var a = 0; a < out.length && !joined; a++) {
        for (var b = 0; b < out.length; b++) {
          var left = out[a], right = out[b];
          if (a !== b && right.length > 1 && unspaced(left) && unspaced(right) && left.endsWith(right[0]) &&
              canJoin(left + right.slice(1))) {
            out[a] = left + right.slice(1);
            out.splice(b, 1);
            joined = true;
            break;
          }
        }
      }
    }
    return out.slice(0, limit);
  }

  // --- the page ---------------------------------------------------------------------------

  var input = document.getElementById("pmkb-seen-q");
  var status = document.getElementById("pmkb-seen-status");
  var list = document.getElementById("pmkb-seen-results");
  var form = root.querySelector("form");
  var siteRoot = new URL("../../", script.src);           // the script is assets/pmkb/seen.js
  var modelUrl = new URL(root.getAttribute("data-model"), script.src).href;
  var active = -1, timer = 0, model = null, lastQuery = null, themeStarting = false;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* Python's format(score, ".3f"): JavaScript's toFixed rounds exact halves up, Python to
     even; a 9-decimal score is an exact half at 3 decimals only for odd multiples of 1/16. */
  function fixed3(x) {
    var s = x * 16;
    if (s === Math.floor(s) && s % 2 === 1) {
      var down = Math.floor(x * 1000), up = down + 1;
      return ((down % 2 === 0 ? down : up) / 1000).toFixed(3);
    }
    return x.toFixed(3);
  }

  function setActive(i) {
    var items = list.children;
    if (active >= 0 && items[active]) {
      items[active].classList.remove("pmkb-seen__result--active");
      items[active].setAttribute("aria-selected", "false");
    }
    active = i;
    if (active >= 0 && items[active]) {
      items[active].classList.add("pmkb-seen__result--active");
      items[active].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function render(S, query, found, ms) {
    var M = S.M;
    var signature = JSON.stringify(found.results);
    if (found.results.length && signature === list.getAttribute("data-signature")) {
      return;   // the same answers (a new line, a space): keep the list and the chosen result
    }
    list.setAttribute("data-signature", signature);
    list.textContent = "";
    active = -1;
    input.removeAttribute("aria-activedescendant");
    if (!query.trim()) {
      status.textContent = "Paste or type what you see: symptoms, an error message, a log line. " +
        M.docs.length + " post-mortems loaded.";
      return;
    }
    found.results.forEach(function (hit, i) {
      var doc = M.docs[hit.row];
      var li = el("li", "pmkb-seen__result");
      li.id = "pmkb-seen-r" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-id", doc[0]);
      li.setAttribute("data-score", String(hit.score));
      var title = el("a", "pmkb-seen__title", doc[3]);
      title.href = new URL(doc[4], siteRoot).href;
      var meta = el("p", "pmkb-seen__meta");
      meta.appendChild(el("span", "pmkb-seen__id", doc[0]));
      meta.appendChild(document.createTextNode(" · " + doc[1] + " · "));
      var sev = /^SEV[1-4]$/.test(doc[2]) ? doc[2].toLowerCase() : "unknown";
      meta.appendChild(el("span", "pmkb-sev pmkb-sev--" + sev, doc[2]));
      meta.appendChild(document.createTextNode(" · score "));
      meta.appendChild(el("span", "pmkb-seen__score", fixed3(hit.score)));
      li.appendChild(title);
      li.appendChild(meta);
      if (hit.terms.length) {
        var terms = el("p", "pmkb-seen__terms", "shared terms: ");
        terms.appendChild(el("span", "pmkb-seen__shared", hit.terms.join(", ")));
        li.appendChild(terms);
      }
      var cluster = doc[5] >= 0 ? M.clusters[doc[5]] : null;
      var rec = el("p", "pmkb-seen__cluster");
      if (cluster) {
        rec.appendChild(document.createTextNode("Recurring problem: "));
        var link = el("a", "", cluster[1]);
        link.href = new URL(cluster[3], siteRoot).href;
        rec.appendChild(link);
        rec.appendChild(document.createTextNode(" — this has happened " + cluster[2] + " times"));
      } else {
        rec.textContent = "Not part of a recurring problem";
      }
      li.appendChild(rec);
      li.addEventListener("mousemove", function () { if (active !== i) setActive(i); });
      list.appendChild(li);
    });
    var n = found.results.length;
    var unknown = found.vec.unknown;
    var note = unknown.length ? " Left out (in no post-mortem, or in too many to tell incidents apart): " + unknown.slice(0, 8).join(", ") +
      (unknown.length > 8 ? " …" : "") + "." : "";
    if (n) {
      status.textContent = (n === 1 ? "The nearest past incident" : "The " + n + " nearest past incidents") +
        " of " + M.docs.length + " (" + ms.toFixed(1) + " ms)." + note;
    } else {
      status.textContent = "No past incident scores " + M.settings.min_score + " or more for this text: " +
        "add words from the error message or the symptoms." + note;
    }
  }

  /* The address of this page with ?q=query (none for an empty query), without a reload. */
  function setAddress(query) {
    try {
      var url = new URL(window.location.href);
      if (query.trim()) url.searchParams.set("q", query); else url.searchParams.delete("q");
      if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url.href);
    } catch (e) { /* a browser that refuses replaceState here: the results stay, the address does not */ }
  }

  function shareable(query) {
    if (!themeStarting) setAddress(query);
  }

  function run() {
    clearTimeout(timer);
    timer = 0;
    if (!model) return;
    var query = input.value;
    if (query === lastQuery) return;
    lastQuery = query;
    var started = performance.now();
    var found = query.trim() ? similar(model, query) : { results: [], vec: { unknown: [] } };
    render(model, query, found, performance.now() - started);
    if (found.results.length && !root.hasAttribute("data-first-answer-ms")) {
      root.setAttribute("data-first-answer-ms", String(Math.round(performance.now())));  // since navigation start
    }
    shareable(query);
    root.setAttribute("data-state", "ready");
    root.setAttribute("data-query", query);
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  }

  input.addEventListener("input", later);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); run(); });
  input.addEventListener("keydown", function (ev) {
    if (ev.isComposing) return;
    var items = list.children;
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      if (active >= 0 && items[active]) {
        items[active].querySelector("a").click();
      } else {
        run();
      }
    } else if (ev.key === "ArrowDown" && items.length) {
      var atEnd = input.value.indexOf("\n", input.selectionEnd) < 0;
      if (active >= 0 || atEnd) {
        ev.preventDefault();
        setActive(Math.min(active + 1, items.length - 1));
      }
    } else if (ev.key === "ArrowUp" && active >= 0) {
      ev.preventDefault();
      setActive(active - 1);
    } else if (ev.key === "Escape" && active >= 0) {
      ev.preventDefault();
      setActive(-1);
    }
  });

  // The theme reads some parameters itself when it starts (Material opens its search for ?q=,
  // data-theme-reads): such a parameter is taken out of the address until the theme has started,
  // then put back, so a shared link opens these results and not the theme's search.
  var fromUrl = new URLSearchParams(window.location.search).get("q");
  var themeReads = (root.getAttribute("data-theme-reads") || "").split(" ").indexOf("q") >= 0;
  if (fromUrl !== null && themeReads) {
    setAddress("");
    themeStarting = true;
    var started = function () {
      setTimeout(function () { themeStarting = false; shareable(input.value); }, 0);
    };
    // (the theme starts on DOMContentLoaded, or, after an instant navigation, in the task that
    // ran this script)
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", started, { once: true });
    else started();
  }
  if (fromUrl) input.value = fromUrl;
  input.focus({ preventScroll: true });
  if (fromUrl) input.setSelectionRange(input.value.length, input.value.length);
  root.setAttribute("data-state", "loading");
  var loadStarted = performance.now();
  loadModel(modelUrl).then(function (S) {
    model = S;
    // For tests and for anyone checking an answer from the console: the same functions.
    state.api = {
      terms: function (text) { return Array.from(countTerms(S.T, text).counts.entries()); },
      search: function (text) {
        return similar(S, text).results.map(function (hit) {
          return { id: S.M.docs[hit.row][0], score: hit.score, terms: hit.terms };
        });
      }
    };
    root.setAttribute("data-load-ms", String(Math.round(performance.now() - loadStarted)));
    lastQuery = null;
    run();
    root.setAttribute("data-ready-ms", String(Math.round(performance.now())));  // since navigation start
  }, function (err) {
    root.setAttribute("data-state", "error");
    status.textContent = "The model could not be loaded (" + err.message + "). In a terminal, " +
      "pmkb similar --text \"...\" gives the same answers.";
  });
})();
