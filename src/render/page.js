// clustersim's run page: one script for a recorded run (data embedded, stepped in the page)
// and the live debugger (data fetched from the local server after every action).
(function () {
  'use strict';
  var GUTTER = 130, RIGHT = 16, TOP = 34, LANE = 46;
  var SIDE_COLOURS = ['#9467bd', '#2ca02c', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
  var chart = document.getElementById('chart');
  var NS = chart.namespaceURI; // the SVG namespace, from the page (no address in the script)
  var data = JSON.parse(document.getElementById('data').textContent);
  var live = !!data.live;
  var S = {
    scene: data.scene || null, // what the diagram draws
    server: null,              // live: the server's last state
    t0: 0, t1: 1,              // visible span (ns)
    follow: true,              // live: the span grows with the run until the person zooms
    cursor: null,              // recorded: the instant stepped to (ns)
    hidden: {},                // lane index -> true when filtered out
    msgType: '',               // message-type filter ('' = all)
    key: '',                   // substring filter on messages and operations
    open: {},                  // node state fields opened or folded by hand, by path
    message: '', error: false
  };
  var tip = document.getElementById('tip');

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { if (attrs.hasOwnProperty(k)) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function h(tag, attrs, text, parent) {
    var e = document.createElement(tag);
    for (var k in attrs) { if (attrs.hasOwnProperty(k)) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function titled(e, text) { var t = document.createElementNS(NS, 'title'); t.textContent = text; e.appendChild(t); return e; }

  // One unit for every time on the page, chosen from the run's span (s from a second on, then
  // ms, us, ns), with as many decimals as `step` (the precision wanted, in ns) needs.
  function pageUnit() {
    var e = end();
    return e >= 1e9 ? [1e9, 's'] : e >= 1e6 ? [1e6, 'ms'] : e >= 1e3 ? [1e3, 'us'] : [1, 'ns'];
  }
  function fmt(t, step) {
    var u = pageUnit(), d = 0, s = (step || 1) / u[0];
    while (d !== 9 && Math.abs(s - Math.round(s)) > 1e-9) { s *= 10; d++; }
    return (t / u[0]).toFixed(d) + ' ' + u[1];
  }
  function niceStep(span) {
    var raw = span / 8, p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    var m = [1, 2, 5, 10];
    for (var i = 0; i !== m.length; i++) { if (m[i] * p >= raw) { return m[i] * p; } }
    return 10 * p;
  }
  function parseTime(s) {
    var m = /^\s*([0-9.]+)\s*(ns|us|ms|s)?\s*$/.exec(s);
    if (!m) { return null; }
    var k = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[m[2] || 's'];
    return Math.round(parseFloat(m[1]) * k);
  }
  function msgType(text) { var m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text); return m ? m[0] : text.split(' ')[0]; }
  function now() {
    if (live) { return S.server ? S.server.now : 0; }
    return S.cursor === null ? S.scene.end : S.cursor;
  }
  // The whole run: a recording's end; a live run's time so far, at least 10 ms.
  function end() { return Math.max(S.scene ? S.scene.end : 0, now(), live ? 1e7 : 1); }
  function matchesKey(text) { return S.key === '' || text.indexOf(S.key) !== -1; }

  function setSpan(a, b) {
    var full = end(), min = 1000;
    if (b - a < min) { var c = (a + b) / 2; a = c - min / 2; b = c + min / 2; }
    if (b - a > full) { a = 0; b = full; }
    if (a < 0) { b -= a; a = 0; }
    if (b > full) { a -= b - full; b = full; }
    S.t0 = Math.max(0, a); S.t1 = b;
    document.body.setAttribute('data-span', String(S.t1 - S.t0));
    document.body.setAttribute('data-from', String(S.t0));
  }
  function resetSpan() {
    var f = S.scene && S.scene.focus;
    if (data.span) {
      setSpan(data.span[0], data.span[1]);
    } else if (f && !live) {
      var pad = Math.max((f[1] - f[0]) / 10, 1e6);
      setSpan(f[0] - pad, f[1] + pad);
    } else {
      setSpan(0, end());
    }
  }

  // Node status at an instant, from the fault bands (recorded runs).
  function statusAt(i, t) {
    var st = 'up';
    S.scene.bands.forEach(function (b) {
      if (b.node === i && b.start <= t && (b.end === null || b.end > t)) {
        st = b.kind === 'crash' ? 'down' : b.kind === 'absent' ? 'not a member' : 'paused';
      }
    });
    return st;
  }

  // The last `n` of `list` by `field` (lists come in that order; sorted only if one does not).
  function latest(list, field, n) {
    for (var i = 1; i < list.length; i++) {
      if (list[i][field] < list[i - 1][field]) {
        list = list.slice().sort(function (a, b) { return a[field] - b[field]; });
        break;
      }
    }
    return list.slice(list.length - n);
  }

  function lanes() {
    var out = [];
    S.scene.names.forEach(function (n, i) { if (!S.hidden[i]) { out.push(i); } });
    return out;
  }

  function draw() {
    var sc = S.scene;
    while (chart.firstChild) { chart.removeChild(chart.firstChild); }
    if (!sc) { return; }
    var width = Math.max(chart.clientWidth || 0, 600);
    var shown = lanes(), row = {};
    shown.forEach(function (n, k) { row[n] = k; });
    var height = TOP + LANE * Math.max(shown.length, 1) + 10;
    chart.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    chart.setAttribute('height', height);
    var W = width - GUTTER - RIGHT, span = Math.max(S.t1 - S.t0, 1), cur = now();
    function x(t) { return GUTTER + (Math.min(Math.max(t, S.t0), S.t1) - S.t0) / span * W; }
    function y(n) { return TOP + LANE * row[n] + LANE / 2; }
    function inView(a, b) { return b >= S.t0 && a <= S.t1; }
    var defs = el('defs', {}, chart);
    var mk = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#3b6fb6' }, mk);
    var clip = el('clipPath', { id: 'plot' }, defs);
    el('rect', { x: GUTTER, y: 0, width: W + 1, height: height }, clip);

    // Axis with readable ticks.
    var axis = el('g', { 'class': 'axis' }, chart), step = niceStep(span);
    for (var t = Math.ceil(S.t0 / step) * step; t <= S.t1; t += step) {
      el('line', { x1: x(t), x2: x(t), y1: TOP - 6, y2: height - 6 }, axis);
      var tx = el('text', { x: x(t), y: TOP - 10, 'text-anchor': 'middle' }, axis);
      tx.textContent = fmt(t, step);
    }
    var plot = el('g', { 'clip-path': 'url(#plot)' }, chart);

    // Fault bands: crashes and pauses on their lane, network faults as the sides they made.
    // A node that is not a member has no lane there: its band is drawn over the lane, below.
    var absent = [];
    sc.bands.forEach(function (b) {
      if (b.start > cur) { return; }
      if (b.kind === 'absent') { absent.push(b); return; }
      var bend = b.end === null || b.end > cur ? cur : b.end;
      if (!inView(b.start, bend)) { return; }
      var x0 = x(b.start), w = Math.max(x(bend) - x0, 2);
      if (b.node !== null) {
        if (row[b.node] === undefined) { return; }
        titled(el('rect', { 'class': 'band ' + b.kind, x: x0, y: y(b.node) - LANE / 2 + 2, width: w, height: LANE - 4 }, plot), b.text);
        return;
      }
      b.groups.forEach(function (g, gi) {
        var colour = SIDE_COLOURS[gi % SIDE_COLOURS.length], letter = String.fromCharCode(65 + gi);
        g.forEach(function (n) {
          if (row[n] === undefined) { return; }
          titled(el('rect', { 'class': 'band partition', x: x0, y: y(n) - LANE / 2 + 2, width: w, height: LANE - 4, fill: colour }, plot),
            b.text + ' (side ' + letter + ')');
          var lab = el('text', { 'class': 'side-label', x: x0 + 3, y: y(n) - LANE / 2 + 13 }, plot);
          lab.textContent = (b.kind === 'partition' ? 'side ' : '') + letter;
        });
      });
    });

    // Lanes, labelled in the gutter (they stay put while the time axis zooms).
    shown.forEach(function (n) {
      el('line', { 'class': 'lane', x1: GUTTER, x2: width - RIGHT, y1: y(n), y2: y(n) }, chart);
      var st = live && S.server ? S.server.nodes[n].status : statusAt(n, cur);
      var lab = el('text', { 'class': 'lane-label', x: 8, y: y(n) + 4, 'data-node': sc.names[n] }, chart);
      lab.textContent = sc.names[n] + (st === 'up' ? '' : ' (' + st + ')');
      var role = el('text', { 'class': 'role-label', x: 8, y: y(n) + 16 }, chart);
      role.textContent = sc.roles[n] || '';
      lab.addEventListener('mousemove', function (e) { showTip(e, nodeText(n)); });
      lab.addEventListener('mouseleave', hideTip);
    });
    var gaps = el('g', { 'clip-path': 'url(#plot)' }, chart);
    absent.forEach(function (b) {
      var bend = b.end === null || b.end > cur ? cur : b.end;
      if (!inView(b.start, bend) || row[b.node] === undefined) { return; }
      var x0 = x(b.start), w = Math.max(x(bend) - x0, 2);
      titled(el('rect', { 'class': 'band absent', x: x0, y: y(b.node) - 3, width: w, height: 6 }, gaps), b.text);
    });

    // Messages: arrows with heads, labels where there is room.
    // At most MAX_DRAWN arrows: the latest in view (a 1,000-node run holds hundreds of
    // thousands, and a browser redrawing them all takes seconds a step); the picture says how
    // many it left out and how to see them.
    var drawn = 0, labels = [], MAX_LABELS = 400, MAX_DRAWN = 3000, inview = [];
    sc.messages.forEach(function (m) {
      if (m.sent > cur || row[m.from] === undefined || row[m.to] === undefined) { return; }
      if (S.msgType !== '' && msgType(m.text) !== S.msgType) { return; }
      if (!matchesKey(m.text)) { return; }
      var done = m.end !== null && m.end <= cur, stop = done ? m.end : cur;
      if (!inView(m.sent, stop)) { return; }
      inview.push(m);
    });
    var leftOut = Math.max(inview.length - MAX_DRAWN, 0), notices = [];
    if (leftOut > 0) {
      inview = latest(inview, 'sent', MAX_DRAWN);
      notices.push('the latest ' + MAX_DRAWN + ' of ' + (MAX_DRAWN + leftOut) + ' messages in view (from ' + fmt(inview[0].sent, step) + ')');
    }
    document.body.setAttribute('data-messages-left-out', String(leftOut));
    inview.forEach(function (m) {
      var done = m.end !== null && m.end <= cur, stop = done ? m.end : cur;
      var cls = 'msg' + (m.dropped ? ' dropped' : (done ? '' : ' inflight'));
      var x1 = x(m.sent), y1 = y(m.from), x2 = x(stop), dy = y(m.to) - y1;
      // A lost message stops a third of a lane from its sender: its mark lands on no other lane.
      var y2 = m.dropped && done ? y1 + Math.sign(dy) * Math.min(Math.abs(dy), LANE) / 3
        : done ? y(m.to) : y1 + dy * Math.min(1, (cur - m.sent) / Math.max((m.end || cur) - m.sent, 1));
      var line = el('line', { 'class': cls, x1: x1, y1: y1, x2: x2, y2: y2 }, plot);
      if (done && !m.dropped) { line.setAttribute('marker-end', 'url(#arrow)'); }
      titled(line, sc.names[m.from] + ' -> ' + sc.names[m.to] + ' ' + m.text + '\nsent ' + fmt(m.sent, 1000) +
        (m.end === null ? ', still in flight' : (m.dropped ? ', lost (' + m.dropped + ') ' : ', delivered ') + fmt(m.end, 1000)));
      if (m.dropped && done) {
        el('path', { d: 'M' + (x2 - 4) + ',' + (y2 - 4) + ' l8,8 m0,-8 l-8,8', stroke: '#d62728', 'stroke-width': 1.5 }, plot);
      }
      // A label where the arrow is long enough to carry one and it would cover no other
      // label (as the SVG does): many short messages at one spot keep their arrows only.
      var len = Math.sqrt((x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1));
      if (len > 110 && labels.length < MAX_LABELS) {
        var chars = Math.floor(len / 6.5);
        var text = m.text.length > chars ? m.text.slice(0, Math.max(chars - 1, 1)) + '...' : m.text;
        var lx = (x1 + x2) / 2 + 3, ly = (y1 + y2) / 2 - 3, lw = text.length * 6.5;
        var free = !labels.some(function (b) { return Math.abs(b[2] - ly) < 12 && b[0] < lx + lw && lx < b[1]; });
        if (free) {
          labels.push([lx, lx + lw, ly]);
          el('text', { 'class': 'msg-label', x: lx, y: ly }, plot).textContent = text;
        }
      }
      drawn++;
    });
    document.body.setAttribute('data-messages', String(drawn));

    // Operations: a bar under the lane from invocation to completion, coloured by result; at
    // most MAX_DRAWN, the latest, as for messages.
    var opsInView = sc.ops.filter(function (o) {
      if (o.start > cur || row[o.node] === undefined || !matchesKey(o.text)) { return false; }
      return inView(o.start, o.end === null || o.end > cur ? cur : o.end);
    });
    var opsLeftOut = Math.max(opsInView.length - MAX_DRAWN, 0);
    if (opsLeftOut > 0) {
      opsInView = latest(opsInView, 'start', MAX_DRAWN);
      notices.push('the latest ' + MAX_DRAWN + ' of ' + (MAX_DRAWN + opsLeftOut) + ' operations in view (from ' + fmt(opsInView[0].start, step) + ')');
    }
    if (notices.length) {
      el('text', { 'class': 'left-out', x: GUTTER + 4, y: 11 }, chart).textContent =
        'showing ' + notices.join(' and ') + ': zoom in, hide nodes or filter to see the rest';
    }
    opsInView.forEach(function (o) {
      var oend = o.end === null || o.end > cur ? cur : o.end;
      var outcome = o.end === null || o.end > cur ? 'pending' : o.outcome;
      var r = el('rect', { 'class': 'op ' + outcome + (o.culprit ? ' culprit' : ''), x: x(o.start), y: y(o.node) + 5, width: Math.max(x(oend) - x(o.start), 3), height: 7 }, plot);
      titled(r, o.text + ' [' + outcome + '] ' + fmt(o.start, 1000) + (o.end === null ? '' : ' - ' + fmt(o.end, 1000)));
    });

    // Disk faults: a small diamond under the lane where the disk failed.
    (sc.disk || []).forEach(function (d) {
      if (d[0] > cur || row[d[1]] === undefined || !inView(d[0], d[0])) { return; }
      var dx = x(d[0]), dy = y(d[1]) + 16;
      titled(el('path', { 'class': 'disk', d: 'M' + dx + ',' + (dy - 5) + ' l5,5 l-5,5 l-5,-5 z' }, plot),
        sc.names[d[1]] + ' disk at ' + fmt(d[0], 1000) + ': ' + d[2]);
    });

    if (sc.focus) {
      titled(el('rect', { 'class': 'focus', x: x(sc.focus[0]), y: TOP - 4, width: Math.max(x(sc.focus[1]) - x(sc.focus[0]), 2), height: height - TOP }, plot),
        'the window that explains the first failure');
    }
    if (live || S.cursor !== null) {
      el('line', { 'class': 'cursor', x1: x(cur), x2: x(cur), y1: TOP - 6, y2: height - 4 }, plot);
    }
  }

  function nodeText(n) {
    if (live && S.server) {
      var nd = S.server.nodes[n];
      return nd.name + ' (' + nd.role + '): ' + nd.status + ', clock ' + fmt(nd.local_time, 1000) + (nd.state ? '\n' + nd.state : '');
    }
    return S.scene.names[n] + ': ' + statusAt(n, now());
  }
  function showTip(e, text) {
    tip.textContent = text; tip.style.display = 'block';
    tip.style.left = (e.pageX + 12) + 'px'; tip.style.top = (e.pageY + 12) + 'px';
  }
  function hideTip() { tip.style.display = 'none'; }

  chart.addEventListener('mousemove', function (e) {
    var t = e.target.querySelector ? e.target.querySelector('title') : null;
    if (t && drag === null) { showTip(e, t.textContent); } else if (!t) { hideTip(); }
  });
  chart.addEventListener('wheel', function (e) {
    e.preventDefault();
    var r = chart.getBoundingClientRect(), W = r.width - GUTTER - RIGHT;
    var fx = Math.min(Math.max((e.clientX - r.left - GUTTER) / W, 0), 1);
    var at = S.t0 + fx * (S.t1 - S.t0), k = e.deltaY > 0 ? 1.25 : 0.8;
    S.follow = false;
    setSpan(at - (at - S.t0) * k, at + (S.t1 - at) * k);
    draw();
  }, { passive: false });
  var drag = null;
  chart.addEventListener('mousedown', function (e) { drag = [e.clientX, S.t0, S.t1]; });
  window.addEventListener('mouseup', function () { drag = null; });
  window.addEventListener('mousemove', function (e) {
    if (drag === null) { return; }
    var r = chart.getBoundingClientRect(), W = r.width - GUTTER - RIGHT;
    var dt = (e.clientX - drag[0]) / W * (drag[2] - drag[1]);
    S.follow = false;
    setSpan(drag[1] - dt, drag[2] - dt);
    draw();
  });
  window.addEventListener('resize', draw);

  // Filters and legend.
  function filters() {
    var f = document.getElementById('filters');
    f.textContent = '';
    if (!S.scene) { return; }
    h('span', {}, 'nodes:', f);
    S.scene.names.forEach(function (n, i) {
      var l = h('label', {}, null, f), c = h('input', { type: 'checkbox', 'data-node': n }, null, l);
      c.checked = !S.hidden[i];
      c.addEventListener('change', function () { S.hidden[i] = !c.checked; draw(); });
      l.appendChild(document.createTextNode(' ' + n));
    });
    var types = {};
    S.scene.messages.forEach(function (m) { types[msgType(m.text)] = true; });
    var l2 = h('label', {}, 'message type ', f), sel = h('select', { id: 'msg-type' }, null, l2);
    h('option', { value: '' }, 'all', sel);
    Object.keys(types).sort().forEach(function (t) { var o = h('option', { value: t }, t, sel); if (t === S.msgType) { o.selected = true; } });
    sel.addEventListener('change', function () { S.msgType = sel.value; draw(); });
    var l3 = h('label', {}, 'key or text ', f), inp = h('input', { id: 'key', type: 'text', size: '10' }, null, l3);
    inp.value = S.key;
    inp.addEventListener('input', function () { S.key = inp.value; draw(); renderHistory(); });
  }
  function legend() {
    var g = document.getElementById('legend');
    g.textContent = '';
    [['#3b6fb6', 'message (arrow: delivered)'], ['#d62728', 'lost message (x)'], ['#888', 'in flight'],
      ['rgba(214,39,40,.3)', 'node down'], ['rgba(255,127,14,.35)', 'node paused'],
      ['rgba(148,103,189,.3)', 'partition side A'], ['rgba(44,160,44,.3)', 'side B'],
      ['#2ca02c', 'ok'], ['#d62728', 'failed'], ['#ffbf00', 'info (unknown)'], ['#17becf', 'event'], ['#bbb', 'not yet completed'], ['#8c564b', 'disk fault']
    ].forEach(function (it) {
      // A disk fault is a diamond on the diagram, and in the key.
      var shape = it[1] === 'disk fault' ? ';transform:rotate(45deg) scale(.75)' : '';
      var s = h('span', {}, null, g); h('span', { 'class': 'sw', style: 'background:' + it[0] + shape }, null, s);
      s.appendChild(document.createTextNode(it[1]));
    });
    var s2 = h('span', {}, null, g); h('span', { 'class': 'sw', style: 'border:2px dashed #d62728' }, null, s2);
    s2.appendChild(document.createTextNode('failure window'));
  }

  // Side panel.
  // A node's state tree: a field with fields beneath it folds (the configuration starts
  // folded); what the person opened or folded stays so across steps.
  function renderTree(fields, parent, path) {
    fields.forEach(function (f, k) {
      var key = path + '/' + (f.l || k);
      if (f.c && f.c.length) {
        var det = h('details', { 'class': f.cfg ? 'field cfg' : 'field' }, null, parent);
        det.open = S.open.hasOwnProperty(key) ? S.open[key] : !f.cfg;
        det.addEventListener('toggle', function () { S.open[key] = det.open; });
        var sm = h('summary', {}, null, det);
        h('span', { 'class': 'k' }, f.l, sm);
        if (f.v) { h('span', { 'class': 'v' }, ' ' + f.v, sm); }
        renderTree(f.c, det, key);
      } else {
        var row = h('div', { 'class': 'field' }, null, parent);
        if (f.l) { h('span', { 'class': 'k' }, f.l + ':', row); row.appendChild(document.createTextNode(' ')); }
        h('span', { 'class': 'v' }, f.v, row);
      }
    });
  }
  function clockText(i) {
    var sv = S.server;
    return sv && sv.skews && sv.skews[i] !== undefined ? ' clock ' + fmt(sv.now + sv.skews[i], 1000) : '';
  }
  // One node's panel, drawn into `d` (emptied first).
  function renderNode(d, name, i) {
    var nd = live && S.server ? S.server.nodes[i] : null;
    var st = nd ? nd.status : statusAt(i, now());
    d.textContent = '';
    d.setAttribute('data-node', name);
    d.setAttribute('data-status', st);
    h('span', { 'class': 'name' }, name, d);
    h('span', { 'class': 'role-label' }, ' ' + (S.scene.roles[i] || ''), d);
    h('span', { 'class': 'status' }, st, d);
    if (nd) {
      h('span', { 'class': 'role-label clock' }, clockText(i), d);
      if (nd.state) { renderTree(nd.state, h('div', { 'class': 'state' }, null, d), name); }
      if (nd.storage.length) {
        h('pre', { 'class': 'storage' }, 'disk' + (nd.unsynced ? ' (unsynced writes)' : '') + ':\n' +
          nd.storage.map(function (kv) { return '  ' + kv[0] + ' = ' + kv[1]; }).join('\n'), d);
      }
    }
  }
  // Every panel, or (live, after a step) only the nodes that changed and every clock.
  function renderNodes(changed) {
    var box = document.getElementById('nodes');
    var panels = box.children;
    if (!changed || panels.length !== S.scene.names.length) {
      box.textContent = '';
      S.scene.names.forEach(function (name, i) { renderNode(h('div', { 'class': 'node' }, null, box), name, i); });
      return;
    }
    changed.forEach(function (i) { renderNode(panels[i], S.scene.names[i], i); });
    if (live && S.server) {
      for (var i = 0; i !== panels.length; i++) {
        var c = panels[i].querySelector('.clock');
        if (c) { c.textContent = clockText(i); }
      }
    }
  }
  function renderPending() {
    var box = document.getElementById('pending');
    box.textContent = '';
    var names = S.scene.names;
    if (live && S.server) {
      document.getElementById('pending-title').textContent = 'Pending (' + S.server.pending.length + ')';
      S.server.pending.slice(0, 300).forEach(function (p) {
        var who = p.kind === 'message' ? names[p.from] + ' -> ' + names[p.node] : (p.node === null ? '' : names[p.node]);
        var next = p.seq === S.server.next;
        var li = h('li', { 'class': 'pending' + (next ? ' next' : ''), 'data-seq': String(p.seq), 'data-kind': p.kind },
          fmt(p.time, 1000) + ' ' + p.kind + ' ' + who + ' ' + p.text + (next ? '  (next)' : ''), box);
        if (p.node !== null && !S.server.stopped) {
          var b = h('button', { 'class': 'run' }, 'run now', li);
          b.addEventListener('click', function () { act('run', { seq: p.seq }); });
          if (p.kind === 'message') {
            var d = h('button', { 'class': 'drop' }, 'lose', li);
            d.addEventListener('click', function () { act('drop', { seq: p.seq }); });
          }
        }
      });
      return;
    }
    var cur = now(), list = S.scene.messages.filter(function (m) { return m.sent <= cur && (m.end === null || m.end > cur); });
    document.getElementById('pending-title').textContent = 'In flight at ' + fmt(cur, 1000) + ' (' + list.length + ')';
    list.slice(0, 300).forEach(function (m) {
      h('li', { 'class': 'pending', 'data-kind': 'message' }, names[m.from] + ' -> ' + names[m.to] + ' ' + m.text, box);
    });
  }
  function renderChecks() {
    var box = document.getElementById('checks');
    box.textContent = '';
    if (live && S.server) {
      S.server.verdicts.forEach(function (v) {
        h('li', { 'class': v.status, 'data-check': v.check }, v.status.toUpperCase() + ' ' + v.check + ': ' + v.summary +
          (v.property === 'liveness' && !S.server.stopped ? ' (if the run ended now)' : ''), box);
      });
      return;
    }
    if (S.scene.failures.length === 0) { h('li', { 'class': 'pass' }, 'every check passed', box); }
    S.scene.failures.forEach(function (f) { h('li', { 'class': 'fail' }, 'FAIL ' + f, box); });
  }
  function renderHistory() {
    var box = document.getElementById('history');
    box.textContent = '';
    var cur = now(), ops = S.scene.ops.filter(function (o) { return o.start <= cur && matchesKey(o.text); });
    ops.slice(Math.max(ops.length - 200, 0)).forEach(function (o) {
      var done = o.end !== null && o.end <= cur;
      h('li', { 'class': done ? o.outcome : 'pending' }, fmt(o.start, 1000) + ' ' + S.scene.names[o.node] + ' ' + o.text +
        (done ? ' [' + o.outcome + ']' : ' [pending]'), box);
    });
  }
  // Live: the tree of explored states, one list per chain of events (a branch), nested under
  // the state it branches from; long chains are folded, and a fold goes to its middle event.
  // Clicking any state returns the run to it.
  function renderExplored() {
    var box = document.getElementById('tree'), title = document.getElementById('tree-title');
    var tr = live && S.server ? S.server.tree : null;
    if (!tr || !box) { return; }
    box.hidden = false; title.hidden = false;
    title.textContent = 'Explored (' + tr.states + ' states, ' + tr.chains.length + (tr.chains.length === 1 ? ' branch)' : ' branches)');
    box.textContent = '';
    var here = null;
    tr.chains.forEach(function (c) {
      var ol = h('ol', { 'class': 'chain', 'data-level': String(c.level) }, null, box);
      // Indented up to 6 levels, deeper ones say their level: the labels keep their room.
      ol.style.marginLeft = (Math.min(c.level, 6) * 10) + 'px';
      if (c.from !== null) { h('li', { 'class': 'from' }, (c.level > 6 ? 'level ' + c.level + ', ' : '') + 'from #' + c.from + ' (' + c.n + (c.n === 1 ? ' event)' : ' events)'), ol); }
      c.items.forEach(function (it) {
        var cls = 'state' + (it.path ? ' path' : '') + (it.hand ? ' hand' : '') + (it.gap ? ' gap' : '') + (it.id === tr.at && !it.gap ? ' at' : '');
        var text = it.gap ? '... ' + it.gap + ' events: go to #' + it.id + ' at ' + fmt(it.t, 1000)
          : '#' + it.id + ' ' + fmt(it.t, 1000) + ' ' + it.l + (it.hand ? ' (by hand)' : '');
        var li = h('li', { 'class': cls, 'data-state': String(it.id) }, text, ol);
        li.title = it.gap ? 'return to the event in the middle of these' : 'return the run to this state';
        li.addEventListener('click', function () { act('goto', { state: it.id }); });
        if (cls.indexOf(' at') !== -1) { here = li; }
      });
    });
    if (tr.more) { h('p', {}, tr.more + ' more branches not shown', box); }
    if (here) { box.scrollTop = Math.max(here.offsetTop - box.clientHeight / 2, 0); }
    var fw = document.getElementById('forward'), bk = document.getElementById('back');
    if (fw) { fw.disabled = tr.forward === null; }
    if (bk) { bk.disabled = tr.events === 0; }
    document.body.setAttribute('data-at', String(tr.at));
  }
  function renderAll(changedNodes) {
    var fl = document.getElementById('failures');
    fl.textContent = '';
    (S.scene ? S.scene.failures : []).forEach(function (f) { h('p', { 'class': 'failure' }, 'FAIL ' + f, fl); });
    draw(); renderExplored(); renderNodes(changedNodes); renderPending(); renderChecks(); renderHistory();
    var st = document.getElementById('status');
    if (st) {
      st.textContent = live && S.server ? 'now ' + fmt(S.server.now, 1000) + ', ' + S.server.steps + ' steps (' + S.server.branches + ' chosen by hand)' +
        (S.server.stopped ? ', run ended' : '') : 'at ' + fmt(now(), 1000) + ' of ' + fmt(S.scene.end, 1000);
    }
    var msg = document.getElementById('message');
    if (msg) { msg.textContent = S.message; msg.className = S.error ? 'error' : ''; }
    document.body.setAttribute('data-now', String(now()));
    var seekBar = document.getElementById('seek');
    if (seekBar && S.scene && S.scene.end > 0) { seekBar.value = String(Math.round(1000 * now() / S.scene.end)); }
  }

  // Toolbar.
  function button(parent, label, id, f) { var b = h('button', { id: id }, label, parent); b.addEventListener('click', f); return b; }
  function toolbar() {
    var bar = document.getElementById('toolbar');
    bar.textContent = '';
    var g1 = h('span', { 'class': 'group' }, null, bar);
    if (live) {
      button(g1, 'undo', 'undo', function () { act('undo'); }).title = 'undo the last action, however many events it ran';
      button(g1, 'back', 'back', function () { act('back'); }).title = 'back one event (it stays in the tree of explored states)';
      button(g1, 'forward', 'forward', function () { act('forward'); }).title = 'forward one event along the current branch of the tree';
      button(g1, 'step', 'step', function () { act('next'); });
      var t = h('input', { id: 'to-time', type: 'text', placeholder: '1.5s' }, null, g1);
      button(g1, 'run to', 'run-to', function () { act('to', { time: t.value }); });
      button(g1, 'run to failure', 'to-failure', function () { act('failure'); });
      var g2 = h('span', { 'class': 'group' }, null, bar);
      var sel = h('select', { id: 'fault-node' }, null, g2);
      S.scene.names.forEach(function (n) { h('option', { value: n }, n, sel); });
      button(g2, 'crash', 'crash', function () { act('crash', { node: sel.value }); });
      button(g2, 'restart', 'restart', function () { act('restart', { node: sel.value }); });
      var p = h('input', { id: 'groups', type: 'text', placeholder: 'a,b|c' }, null, g2);
      button(g2, 'partition', 'partition', function () { act('partition', { groups: p.value }); });
      button(g2, 'heal', 'heal', function () { act('heal'); });
      var dk = h('select', { id: 'disk-kind' }, null, g2);
      ['power-loss', 'process-crash', 'crash-at-sync', 'sync-fail', 'corrupt', 'unreadable', 'disk-full', 'disk-free'].forEach(function (k) { h('option', { value: k }, k.replace(/-/g, ' '), dk); });
      button(g2, 'disk fault', 'disk', function () { act('disk', { node: sel.value, kind: dk.value }); }).title = 'inject this disk fault on the selected node now';
      var g3 = h('span', { 'class': 'group' }, null, bar);
      button(g3, 'save path', 'save', function () { act('save'); });
      button(g3, 'quit', 'quit', function () { act('quit'); });
    } else {
      button(g1, 'start', 'first', function () { S.cursor = 0; renderAll(); });
      button(g1, 'back', 'back', function () { stepRecorded(-1); });
      button(g1, 'step', 'step', function () { stepRecorded(1); });
      button(g1, 'end', 'last', function () { S.cursor = null; renderAll(); });
      // The seek bar: drag to any instant of the run (the diagram and panels follow).
      var seek = h('input', { id: 'seek', type: 'range', min: '0', max: '1000', step: '1', value: '1000' }, null, g1);
      seek.title = 'seek: drag to any instant of the run';
      seek.addEventListener('input', function () {
        var t = Math.round(S.scene.end * Number(seek.value) / 1000);
        S.cursor = t >= S.scene.end ? null : t;
        var c = now();
        if (c > S.t1 || c < S.t0) { var w = S.t1 - S.t0; setSpan(c - w / 2, c + w / 2); }
        renderAll();
      });
    }
    var g4 = h('span', { 'class': 'group' }, null, bar);
    button(g4, 'whole run', 'reset', function () { S.follow = true; setSpan(0, end()); draw(); });
    if (S.scene && S.scene.focus) {
      button(g4, 'failure window', 'focus', function () {
        var f = S.scene.focus; S.follow = false; setSpan(f[0], f[1]);
        // A recorded run is shown up to the failure window's end at least.
        if (!live && S.cursor !== null && S.cursor < f[1]) { S.cursor = f[1]; }
        renderAll();
      });
    }
    h('span', { id: 'status' }, '', bar);
    h('span', { id: 'message' }, '', bar);
  }

  // Recorded runs: step from one instant where something happened to the next.
  var instants = null;
  function stepRecorded(dir) {
    if (instants === null) {
      var set = {};
      S.scene.messages.forEach(function (m) { set[m.sent] = 1; if (m.end !== null) { set[m.end] = 1; } });
      S.scene.bands.forEach(function (b) { set[b.start] = 1; if (b.end !== null) { set[b.end] = 1; } });
      S.scene.ops.forEach(function (o) { set[o.start] = 1; if (o.end !== null) { set[o.end] = 1; } });
      instants = Object.keys(set).map(Number).sort(function (a, b) { return a - b; });
    }
    var cur = now(), i;
    if (dir > 0) {
      i = instants.findIndex(function (t) { return t > cur; });
      S.cursor = i === -1 ? null : instants[i];
    } else {
      var before = instants.filter(function (t) { return t < cur; });
      S.cursor = before.length ? before[before.length - 1] : 0;
    }
    var c = now();
    if (c > S.t1 || c < S.t0) { var w = S.t1 - S.t0; setSpan(c - w / 2, c + w / 2); }
    renderAll();
  }

  // Live: every action goes to the server, which answers with what changed since the state
  // the page holds (or, when it cannot tell, the whole state).
  function act(op, params) {
    var q = ['op=' + encodeURIComponent(op)];
    for (var k in params || {}) { if (params.hasOwnProperty(k)) { q.push(k + '=' + encodeURIComponent(params[k])); } }
    if (S.server) { q.push('have=' + S.server.version); }
    return fetch('/api/act?' + q.join('\u0026'), { method: 'POST', headers: { 'X-Clustersim-Token': data.token || '' } }).then(function (r) { return r.json(); }).then(update)
      .catch(function (e) { S.message = String(e); S.error = true; renderAll(); });
  }
  // A list the page holds, brought up to date: its new length and the items that differ.
  function patchList(list, d) {
    list.length = d.n;
    d.at.forEach(function (p) { list[p[0]] = p[1]; });
  }
  function applyDelta(d) {
    var sv = S.server, sc = sv.scene;
    ['live', 'version', 'now', 'stopped', 'steps', 'branches', 'next', 'verdicts', 'message', 'error', 'saved', 'saved_hash']
      .forEach(function (k) { sv[k] = d[k]; });
    patchList(sv.nodes, d.nodes);
    patchList(sv.skews, d.skews);
    var bySeq = {};
    sv.pending.forEach(function (p) { bySeq[p.seq] = p; });
    d.pending.gone.forEach(function (q) { delete bySeq[q]; });
    d.pending.put.forEach(function (p) { bySeq[p.seq] = p; });
    sv.pending = Object.keys(bySeq).map(function (k) { return bySeq[k]; })
      .sort(function (a, b) { return a.time - b.time || a.seq - b.seq; });
    ['messages', 'bands', 'ops', 'notes', 'disk'].forEach(function (k) { patchList(sc[k], d.scene[k]); });
    sc.failures = d.scene.failures; sc.focus = d.scene.focus; sc.end = d.scene.end;
    if (d.figures !== undefined) { sv.figures = d.figures; }
    if (d.tree !== undefined) { sv.tree = d.tree; }
    return d.nodes.at.map(function (p) { return p[0]; });
  }
  function update(state) {
    var first = S.server === null, changed = null, figures = true;
    if (state.full) {
      S.server = state;
      S.msgTypes = null;
      S.typesRead = 0;
    } else if (S.server && state.base === S.server.version) {
      figures = state.figures !== undefined;
      changed = applyDelta(state);
    } else {
      // Not the state this page holds: ask for the whole state.
      return fetch('/api/state').then(function (r) { return r.json(); }).then(update);
    }
    state = S.server;
    S.scene = state.scene;
    if (figures) { document.getElementById('figures').innerHTML = state.figures || ''; }
    S.message = state.message || '';
    S.error = !!state.error;
    if (state.saved) { document.body.setAttribute('data-saved', state.saved); document.body.setAttribute('data-saved-hash', state.saved_hash); }
    document.body.setAttribute('data-steps', String(state.steps));
    // The toolbar and the filters follow the run: a failure window appears after "run to
    // failure", message types as they are first sent.
    var shape = String(!!(S.scene && S.scene.focus));
    if (first || shape !== S.toolbarShape) { S.toolbarShape = shape; toolbar(); }
    // Only the messages sent since the last answer can bring a new type.
    var types = S.msgTypes || {}, grew = first || !S.msgTypes, ms = S.scene.messages;
    for (var i = Math.min(S.typesRead || 0, ms.length); i < ms.length; i++) {
      var t = msgType(ms[i].text);
      if (!types[t]) { types[t] = true; grew = true; }
    }
    S.typesRead = ms.length;
    S.msgTypes = types;
    if (grew) { filters(); }
    if (S.follow) { setSpan(0, end()); }
    renderAll(changed);
    document.body.setAttribute('data-ready', String(state.steps) + ':' + String(state.now) + ':' + String(state.version));
  }
  window.clustersim = { state: S, act: act, span: function () { return S.t1 - S.t0; } };

  legend();
  if (live) {
    fetch('/api/state').then(function (r) { return r.json(); }).then(update);
  } else {
    toolbar(); filters(); resetSpan(); renderAll();
    document.body.setAttribute('data-ready', 'recorded');
  }
})();
