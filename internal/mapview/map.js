// nofly map: draws the data in #nofly-data with Leaflet. No tiles and no
// requests: the outlines beneath the zones come with the data. Every text
// from the data is set with textContent, never parsed as HTML.
(function () {
  "use strict";
  var started = performance.now(); // the page parsed, Leaflet loaded
  var d = JSON.parse(document.getElementById("nofly-data").textContent);

  // Zone styles by status. Dashes and weights tell them apart without
  // colour too.
  var styles = {
    "conflict": { color: "#b00000", weight: 3, fillColor: "#e03030", fillOpacity: 0.30, dashArray: null },
    "covered": { color: "#1a7a1a", weight: 2.5, fillColor: "#3cb43c", fillOpacity: 0.25, dashArray: "10 4" },
    "advisory": { color: "#b36b00", weight: 2, fillColor: "#f0a020", fillOpacity: 0.20, dashArray: "2 4" },
    "named": { color: "#1a4fa0", weight: 2, fillColor: "#4a7fd0", fillOpacity: 0.15, dashArray: "6 3" },
    "near": { color: "#8a2a2a", weight: 1, fillColor: "#c08080", fillOpacity: 0.12, dashArray: null },
    "near-advisory": { color: "#8a6a2a", weight: 1, fillColor: "#d0c080", fillOpacity: 0.10, dashArray: "2 3" }
  };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function ll(line) { return line.map(function (p) { return [p[1], p[0]]; }); }

  // Header: what was checked, when, against which zone set.
  var head = document.getElementById("head");
  head.appendChild(el("h1", d.title));
  (d.lines || []).forEach(function (l) { head.appendChild(el("p", l)); });
  if (d.note) head.appendChild(el("p", d.note, "note"));

  var map = L.map("map", { zoomSnap: 0.25, attributionControl: true, renderer: d.canvas ? L.canvas({ padding: 0.5 }) : L.svg({ padding: 0.5 }) });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Leaflet · outlines: Natural Earth · zones: nofly");
  var view = [[d.view[1], d.view[0]], [d.view[3], d.view[2]]];
  map.fitBounds(view);

  (d.basemap || []).forEach(function (a) {
    L.polyline(ll(a.c), { color: "#555", weight: a.b ? 1 : 1.2, dashArray: a.b ? "5 3" : null, interactive: false, className: a.b ? "nofly-border" : "nofly-coast" }).addTo(map);
  });

  function row(t, k, v) {
    if (v === undefined || v === null || v === "" || (v.length === 0)) return;
    var tr = el("tr");
    tr.appendChild(el("th", k));
    var td = el("td");
    if (Array.isArray(v)) {
      var ul = el("ul");
      v.forEach(function (x) { ul.appendChild(el("li", x)); });
      td.appendChild(ul);
    } else {
      td.textContent = v;
    }
    tr.appendChild(td);
    t.appendChild(tr);
  }

  function popup(z) {
    var div = el("div", null, "nofly-popup");
    div.appendChild(el("h3", z.id));
    var t = el("table");
    row(t, "Name", z.name);
    row(t, "Restriction", z.restriction);
    row(t, "Heights", z.heights);
    row(t, "Active", z.schedule);
    row(t, "Reasons", (z.reasons || []).join(", "));
    row(t, "Message", z.message);
    if (z.met) {
      row(t, "Flight", z.distance);
      row(t, "Legs", z.legs);
      row(t, "Overlap", z.band);
      row(t, "When", z.when);
      if (z.coveredBy) row(t, "Covered by", z.coveredBy);
      else if (z.status === "conflict") row(t, "Not covered", (z.notCovered && z.notCovered.length) ? z.notCovered : "no exemption applies");
    }
    div.appendChild(t);
    return div;
  }

  // Zones: those met on top.
  var order = { "near-advisory": 0, "near": 1, "named": 2, "advisory": 3, "covered": 4, "conflict": 5 };
  var labelled = {};
  var zs = d.zones.slice().sort(function (a, b) { return order[a.status] - order[b.status]; });
  var drawn = 0;
  zs.forEach(function (z) {
    var s = styles[z.status];
    var latlngs = z.shapes.map(function (poly) { return poly.map(ll); });
    var layer = L.polygon(latlngs, {
      color: s.color, weight: s.weight, fillColor: s.fillColor, fillOpacity: s.fillOpacity, dashArray: s.dashArray,
      className: "nofly-zone nofly-zone-" + z.status
    }).addTo(map);
    layer.bindPopup(function () { return popup(z); }, { maxWidth: 420 });
    if (map.hasLayer(layer)) drawn++;
    var p = layer.getElement && layer.getElement();
    if (p) p.setAttribute("data-zone", z.id);
    if ((d.labels || z.met) && z.at) {
      // Labels that would sit on one point are stacked below each other.
      var key = z.at[0].join(","), k = (labelled[key] || 0);
      labelled[key] = k + 1;
      L.tooltip({ permanent: true, direction: "right", offset: [6, 20 * k], className: "nofly-label" + (z.status === "conflict" ? " conflict" : "") })
        .setLatLng([z.at[0][1], z.at[0][0]]).setContent(el("span", z.id + " · " + z.heights)).addTo(map);
    }
  });

  (d.exemptions || []).forEach(function (ex) {
    L.polygon(ex.area.map(ll), { color: "#1a7a1a", weight: 3, dashArray: "12 4 2 4", fillColor: "#3cb43c", fillOpacity: 0.08, className: "nofly-exemption" })
      .bindPopup(function () {
        var div = el("div", null, "nofly-popup");
        div.appendChild(el("h3", "Exemption " + ex.id));
        (ex.lines || []).forEach(function (l) { div.appendChild(el("div", l)); });
        return div;
      }).bindTooltip(el("span", "exemption " + ex.id)).addTo(map);
  });

  var f = d.flight;
  if (f) {
    if (f.buffer) {
      L.polygon(f.buffer.map(ll), { stroke: false, fillColor: "#1f4e99", fillOpacity: 0.18, fillRule: "nonzero", interactive: false, className: "nofly-buffer" }).addTo(map);
    }
    if (f.area) {
      L.polygon(f.area.map(ll), { color: "#1f4e99", weight: 2.5, fillOpacity: 0.1, className: "nofly-area" }).addTo(map);
    }
    (f.legs || []).forEach(function (g) {
      var st = g.kind === "conflict" ? { color: "#d00000", weight: 6, dashArray: "12 6" }
        : g.kind === "covered" ? { color: "#1a7a1a", weight: 5, dashArray: "4 4" }
          : { color: "#1f4e99", weight: 4, dashArray: null };
      st.className = "nofly-leg nofly-leg-" + g.kind;
      var pl = L.polyline(ll(g.c), st).addTo(map);
      pl.bindTooltip(el("span", "leg " + g.i + (g.kind === "conflict" ? ": meets a blocking zone, not covered" : g.kind === "covered" ? ": covered by an exemption" : "")));
      var e = pl.getElement();
      if (e) e.setAttribute("data-leg", String(g.i));
    });
    if (f.path && !f.area) {
      f.path.forEach(function (p, i) {
        L.circleMarker([p[1], p[0]], { radius: f.point ? 7 : 4, color: "#000", weight: 2, fillColor: "#fff", fillOpacity: 1, className: "nofly-waypoint" })
          .bindTooltip(el("span", f.point ? "position" : "waypoint " + i)).addTo(map);
      });
    }
  }

  (d.closest || []).forEach(function (c) {
    L.polyline(ll(c.c), { color: "#000", weight: 1.5, dashArray: "3 3", className: "nofly-closest", interactive: false }).addTo(map);
    L.circleMarker([c.c[1][1], c.c[1][0]], { radius: 3, color: "#000", fillColor: "#000", fillOpacity: 1, interactive: false }).addTo(map)
      .bindTooltip(el("span", c.label), { permanent: true, direction: "bottom", className: "nofly-label" });
  });

  // Legend, north and scale.
  var Legend = L.Control.extend({
    onAdd: function () {
      var div = el("div", null, "nofly-box nofly-legend");
      div.appendChild(el("h2", "Legend"));
      function swatch(st, line) {
        var ns = "http://www.w3.org/2000/svg";
        var svg = document.createElementNS(ns, "svg");
        svg.setAttribute("width", "28"); svg.setAttribute("height", "14");
        var r = document.createElementNS(ns, line ? "line" : "rect");
        if (line) { r.setAttribute("x1", "1"); r.setAttribute("y1", "7"); r.setAttribute("x2", "27"); r.setAttribute("y2", "7"); }
        else { r.setAttribute("x", "2"); r.setAttribute("y", "2"); r.setAttribute("width", "24"); r.setAttribute("height", "10"); r.setAttribute("fill", st.fillColor || "none"); r.setAttribute("fill-opacity", String(Math.min(1, (st.fillOpacity || 0) * 2))); }
        r.setAttribute("stroke", st.color); r.setAttribute("stroke-width", String(Math.min(st.weight, 4)));
        if (st.dashArray) r.setAttribute("stroke-dasharray", st.dashArray);
        svg.appendChild(r);
        return svg;
      }
      function item(st, text, line) {
        var r = el("div");
        r.appendChild(swatch(st, line));
        r.appendChild(el("span", text));
        div.appendChild(r);
      }
      d.legend.forEach(function (l) { item(styles[l.status], l.text); });
      if (f && f.legs && f.legs.length) {
        item({ color: "#1f4e99", weight: 4 }, "route leg", true);
        if (f.legs.some(function (g) { return g.kind === "conflict"; })) item({ color: "#d00000", weight: 4, dashArray: "8 4" }, "leg meets a blocking zone, not covered", true);
        if (f.legs.some(function (g) { return g.kind === "covered"; })) item({ color: "#1a7a1a", weight: 4, dashArray: "4 4" }, "leg covered by an exemption", true);
      }
      if (f && f.buffer) item({ color: "#1f4e99", weight: 0, fillColor: "#1f4e99", fillOpacity: 0.18 }, "buffer " + f.bufferM + " m");
      if (d.closest && d.closest.length) item({ color: "#000", weight: 1.5, dashArray: "3 3" }, "closest approach (distance as checked)", true);
      if (d.exemptions && d.exemptions.length) item({ color: "#1a7a1a", weight: 3, dashArray: "12 4 2 4" }, "exemption area", true);
      item({ color: "#555", weight: 1.2 }, "coastline", true);
      item({ color: "#555", weight: 1, dashArray: "5 3" }, "border", true);
      div.appendChild(el("div", "Click a zone for its details."));
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    }
  });
  new Legend({ position: "bottomright" }).addTo(map);
  var North = L.Control.extend({
    onAdd: function () {
      var div = el("div", null, "nofly-box nofly-north");
      div.appendChild(el("div", "▲"));
      div.appendChild(el("div", "N"));
      div.title = "North is up (Web Mercator)";
      return div;
    }
  });
  new North({ position: "topright" }).addTo(map);
  L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(map);
  // Fit the view again beside the legend, so that it hides nothing of
  // the flight.
  var lw = document.querySelector(".nofly-legend").offsetWidth;
  map.fitBounds(view, { paddingTopLeft: [50, 20], paddingBottomRight: [Math.min(lw + 20, map.getSize().x / 2), 30], animate: false });

  document.body.setAttribute("data-zones", String(d.zones.length));
  document.body.setAttribute("data-zones-drawn", String(drawn));
  // How long the map took to draw, in milliseconds since the page began
  // to load: tests hold large maps to a budget.
  document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  document.body.setAttribute("data-script-ms", String(Math.round(performance.now() - started)));
  document.body.setAttribute("data-ready", "1");
})();
