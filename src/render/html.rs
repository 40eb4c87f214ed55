//! The SVG diagram inside one standalone HTML page: no external resources, a small inline
//! script for hover details (from each element's `<title>`) and zoom/pan of the time axis.

use super::model::{xml_escape, Model, Window};

// Kept free of `<` and `&` so the page stays well-formed XML as well as HTML.
const SCRIPT: &str = r#"
(function () {
  var svg = document.querySelector('svg');
  var tip = document.getElementById('tip');
  var vb = svg.viewBox.baseVal;
  var full = [vb.x, vb.y, vb.width, vb.height];
  svg.addEventListener('mousemove', function (e) {
    var t = e.target.querySelector ? e.target.querySelector('title') : null;
    if (t) {
      tip.textContent = t.textContent;
      tip.style.display = 'block';
      tip.style.left = (e.pageX + 12) + 'px';
      tip.style.top = (e.pageY + 12) + 'px';
    } else {
      tip.style.display = 'none';
    }
  });
  svg.addEventListener('wheel', function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    var fx = (e.clientX - r.left) / r.width;
    var k = e.deltaY > 0 ? 1.25 : 0.8;
    var w = Math.min(full[2], Math.max(20, vb.width * k));
    var x = vb.x + (vb.width - w) * fx;
    vb.x = Math.max(full[0], Math.min(full[0] + full[2] - w, x));
    vb.width = w;
  }, { passive: false });
  var drag = null;
  svg.addEventListener('mousedown', function (e) { drag = [e.clientX, vb.x]; });
  window.addEventListener('mouseup', function () { drag = null; });
  window.addEventListener('mousemove', function (e) {
    if (drag === null) { return; }
    var r = svg.getBoundingClientRect();
    var x = drag[1] - (e.clientX - drag[0]) * vb.width / r.width;
    vb.x = Math.max(full[0], Math.min(full[0] + full[2] - vb.width, x));
  });
  document.getElementById('reset').addEventListener('click', function () {
    vb.x = full[0]; vb.width = full[2];
  });
})();
"#;

/// The diagram as a standalone HTML page titled `title`.
pub fn render(model: &Model, win: Option<Window>, title: &str) -> String {
    let svg = super::svg::render(model, win);
    let mut o = String::with_capacity(svg.len() + 4096);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    o.push_str(&format!("<title>{}</title>\n", xml_escape(title)));
    o.push_str(
        "<style>body{font:14px sans-serif;margin:12px}svg{border:1px solid #ccc;cursor:grab;max-width:100%;height:auto}\
#tip{position:absolute;display:none;background:#ffe;border:1px solid #888;padding:4px 6px;font:12px monospace;pointer-events:none;white-space:pre}</style>\n",
    );
    o.push_str("</head>\n<body>\n");
    o.push_str(&format!(
        "<h1>{}</h1>\n<p>Scroll to zoom the time axis, drag to pan, hover for details. <button id=\"reset\">reset zoom</button></p>\n",
        xml_escape(title)
    ));
    for f in &model.failures {
        o.push_str(&format!(
            "<p class=\"failure\">FAIL {}</p>\n",
            xml_escape(f)
        ));
    }
    o.push_str(&svg);
    o.push_str("<div id=\"tip\"></div>\n<script>");
    o.push_str(SCRIPT);
    o.push_str("</script>\n</body>\n</html>\n");
    o
}
