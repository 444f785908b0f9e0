// A sparkline: counts per minute as an inline SVG line over a filled area, built element by
// element (no markup parsed, no library), scaled to its largest count.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 120;
const HEIGHT = 24;
const PAD = 1.5; // the line's half-width: a peak or a zero is not cut off at the edge

function svgElement(name, attributes) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  return el;
}

// "x,y" for each count, oldest on the left; a count of 0 on the baseline.
export function sparkPoints(counts) {
  const peak = Math.max(1, ...counts);
  const step = counts.length > 1 ? (WIDTH - 2 * PAD) / (counts.length - 1) : 0;
  return counts.map((count, i) => {
    const x = PAD + i * step;
    const y = HEIGHT - PAD - (count / peak) * (HEIGHT - 2 * PAD);
    return x.toFixed(1) + "," + y.toFixed(1);
  });
}

// `counts` (numbers, oldest first) drawn; `title` is what a pointer or a screen reader gets.
export function sparkline(counts, title) {
  const svg = svgElement("svg", {
    class: "sparkline",
    viewBox: "0 0 " + WIDTH + " " + HEIGHT,
    width: WIDTH,
    height: HEIGHT,
    role: "img",
    "aria-label": title,
  });
  const label = svgElement("title", {});
  label.textContent = title;
  const points = sparkPoints(counts);
  const baseline = [(WIDTH - PAD).toFixed(1) + "," + HEIGHT, PAD.toFixed(1) + "," + HEIGHT];
  const outline = points.concat(baseline).join(" ");
  const area = svgElement("polygon", { class: "spark-area", points: outline });
  const line = svgElement("polyline", { class: "spark-line", points: points.join(" ") });
  svg.append(label, area, line);
  return svg;
}
