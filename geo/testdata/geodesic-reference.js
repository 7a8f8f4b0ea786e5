// Reference geodesic distances from GeographicLib (Karney), used as an
// independent oracle for geo.Distance.
const g = require("geographiclib-geodesic").Geodesic.WGS84;
const cases = [];
const lats = [0, 0.5, 30, 45, 52, 60, 70, 80, -33.9];
const dists = [0.5, 1, 50, 1000, 8000, 50000, 100000, 250000];
const azs = [0, 37, 90, 123, 180, 271];
for (const lat of lats) for (const s of dists) for (const az of azs) {
  const r = g.Direct(lat, 4.5, az, s);
  cases.push({lon1: 4.5, lat1: lat, lon2: r.lon2, lat2: r.lat2, s12: s, azi1: az});
}
console.log(JSON.stringify({source: "GeographicLib-JS 2.2.0 Geodesic.WGS84.Direct", cases}, null, 0));
