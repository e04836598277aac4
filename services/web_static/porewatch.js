// porewatch control-room page: loads the experiment so far from Tiled (via /api), then follows
// the control-room stream (server-sent events on /events). Plain JS, canvas and SVG; no build step.
"use strict";

const ELECTRODES = ["top", "bottom"];
const PHASES = [null, ["pore", [255, 60, 60, 200]], ["Li", [80, 160, 255, 60]], ["LLZO", [80, 220, 120, 45]],
                ["steel", [200, 200, 200, 40]]];
const STAGES = ["acquire", "reconstruct", "analyse", "publish", "complete"];
const SVG_NS = "http://www.w3.org/2000/svg";

const state = {
  cell: null, steps: new Map(), profiles: new Map(), maps: {}, mapsStep: null, slices: null,
  hotspots: null, selected: null, rescans: new Map(), approval: false, loaded: false, buffer: [],
};

// ---- arrays ------------------------------------------------------------------------------
function decode(encoded) {
  const text = atob(encoded.data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const data = encoded.dtype === "float32" ? new Float32Array(bytes.buffer) : bytes;
  return { shape: encoded.shape, data };
}

function finiteRange(data, lowFraction = 0.0, highFraction = 1.0) {
  const values = Array.from(data).filter(Number.isFinite).sort((a, b) => a - b);
  if (!values.length) return [0, 1];
  const pick = (f) => values[Math.min(values.length - 1, Math.max(0, Math.round(f * (values.length - 1))))];
  return [pick(lowFraction), pick(highFraction)];
}

// ---- colour maps -------------------------------------------------------------------------
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const DIVERGING = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]];

function ramp(stops, t) {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return stops[i].map((c, k) => Math.round(c + f * (stops[i + 1][k] - c)));
}

function paint(canvas, array, colour) {
  const [rows, cols] = array.shape;
  canvas.width = cols; canvas.height = rows;
  const context = canvas.getContext("2d");
  const image = context.createImageData(cols, rows);
  for (let p = 0; p < rows * cols; p++) {
    const rgba = colour(array.data[p], p);
    image.data.set(rgba, 4 * p);
  }
  context.putImageData(image, 0, 0);
}

// ---- slices ------------------------------------------------------------------------------
function drawSlices() {
  const slices = state.slices;
  if (!slices) return;
  const [low, high] = slices.header.display_range;
  const overlay = document.getElementById("overlay-toggle").checked;
  for (const name of ["xy", "xz", "yz"]) {
    const volume = decode(slices.arrays[name]);
    const labels = decode(slices.arrays[`${name}_labels`]).data;
    paint(document.getElementById(`slice-${name}`), volume, (v, p) => {
      const g = Number.isFinite(v) ? Math.round(255 * Math.min(1, Math.max(0, (v - low) / (high - low)))) : 0;
      const phase = overlay ? PHASES[labels[p]] : null;
      if (!phase) return [g, g, g, 255];
      const [r, gg, b, a] = phase[1];
      const w = a / 255;
      return [g * (1 - w) + r * w, g * (1 - w) + gg * w, g * (1 - w) + b * w, 255];
    });
  }
  const section = document.getElementById("slices");
  section.dataset.step = slices.header.step_index;
  document.getElementById("slices-step").textContent = `step ${slices.header.step_index}`;
}

function drawPhaseLegend() {
  document.getElementById("phase-legend").innerHTML = PHASES.filter(Boolean).map(([name, [r, g, b]]) =>
    `<span><i style="background: rgb(${r},${g},${b})"></i>${name}</span>`).join("");
}

// ---- maps and hot spots ------------------------------------------------------------------
function drawMap(electrode, kind, encoded, stepIndex) {
  const figure = document.getElementById(`map-${electrode}-${kind}`);
  const array = decode(encoded);
  let colour, label;
  if (kind === "pore_density") {
    const [, high] = finiteRange(array.data, 0, 1);
    const top = high > 0 ? high : 1;
    colour = (v) => Number.isFinite(v) ? [...ramp(VIRIDIS, v / top), 255] : [0, 0, 0, 255];
    label = `0 - ${(100 * top).toFixed(1)} %`;
  } else {
    const [low, high] = finiteRange(array.data, 0.02, 0.98);
    const limit = Math.max(Math.abs(low), Math.abs(high)) || 1;
    colour = (v) => Number.isFinite(v) ? [...ramp(DIVERGING, 0.5 + v / (2 * limit)), 255] : [0, 0, 0, 255];
    label = `+/- ${limit.toPrecision(3)}`;
  }
  paint(figure.querySelector("canvas"), array, colour);
  figure.querySelector(".range").textContent = label;
  figure.querySelector("svg").setAttribute("viewBox", `0 0 ${array.shape[1]} ${array.shape[0]}`);
  figure.dataset.step = stepIndex;
  figure.dataset.shape = array.shape.join("x");
  state.maps[`${electrode}-${kind}`] = array.shape;
  document.getElementById("maps-step").textContent = `step ${stepIndex}`;
  drawHotspotCircles();
}

function pixelSizeUm(stepIndex) {
  const report = state.steps.get(stepIndex);
  if (report) return report.pixel_size_m * 1e6;
  const latest = [...state.steps.values()].pop();
  return latest ? latest.pixel_size_m * 1e6 : (state.slices ? state.slices.header.pixel_size_um : null);
}

function drawHotspotCircles() {
  const spots = state.hotspots;
  for (const electrode of ELECTRODES) {
    for (const kind of ["pore_density", "current_density"]) {
      const svg = document.querySelector(`#map-${electrode}-${kind} svg`);
      svg.replaceChildren();
      const shape = state.maps[`${electrode}-${kind}`];
      const pixel = spots ? pixelSizeUm(spots.step_index) : null;
      if (!spots || !shape || !pixel) continue;
      for (const spot of spots.hotspots[electrode] || []) {
        const circle = document.createElementNS(SVG_NS, "circle");
        circle.setAttribute("cx", spot.x_um / pixel + (shape[1] - 1) / 2 + 0.5);
        circle.setAttribute("cy", spot.y_um / pixel + (shape[0] - 1) / 2 + 0.5);
        circle.setAttribute("r", Math.max(1.5, Math.sqrt(spot.area_um2 / Math.PI) / pixel + 1));
        circle.dataset.electrode = electrode; circle.dataset.id = spot.id;
        if (isSelected(electrode, spot.id)) circle.classList.add("selected");
        circle.addEventListener("click", () => selectHotspot(electrode, spot.id));
        const title = document.createElementNS(SVG_NS, "title");
        title.textContent = `${electrode} #${spot.id}`;
        circle.appendChild(title);
        svg.appendChild(circle);
      }
    }
  }
}

function isSelected(electrode, id) {
  return state.selected && state.selected.electrode === electrode && state.selected.id === id;
}

function showHotspots(header) {
  state.hotspots = { step_index: header.step_index, hotspots: header.hotspots };
  const list = document.getElementById("hotspot-list");
  list.replaceChildren();
  list.dataset.step = header.step_index;
  document.getElementById("hotspots-step").textContent = `step ${header.step_index}`;
  let count = 0;
  for (const electrode of ELECTRODES) {
    for (const spot of header.hotspots[electrode] || []) {
      const item = document.createElement("li");
      item.className = "hotspot";
      item.dataset.electrode = electrode; item.dataset.id = spot.id;
      item.textContent = `${electrode} #${spot.id}: (${spot.x_um.toFixed(0)}, ${spot.y_um.toFixed(0)}) um, ` +
        `peak j ${spot.peak_current_density_A_m2.toFixed(3)} A/m\u00b2`;
      item.addEventListener("click", () => selectHotspot(electrode, spot.id));
      list.appendChild(item);
      count++;
    }
  }
  if (!count) list.innerHTML = '<li class="empty">none in this step</li>';
  if (state.selected && !findSpot(state.selected.electrode, state.selected.id)) state.selected = null;
  drawHotspotCircles();
  showDetails();
}

function findSpot(electrode, id) {
  return state.hotspots && (state.hotspots.hotspots[electrode] || []).find((s) => s.id === id);
}

function selectHotspot(electrode, id) {
  state.selected = { electrode, id };
  for (const item of document.querySelectorAll("#hotspot-list li.hotspot")) {
    item.classList.toggle("selected", item.dataset.electrode === electrode && Number(item.dataset.id) === id);
  }
  drawHotspotCircles();
  showDetails();
}

function fmt(value, digits = 3, scale = 1) {
  return value === null || value === undefined ? "-" : (value * scale).toFixed(digits);
}

function showDetails() {
  const panel = document.getElementById("hotspot-details");
  const spot = state.selected && findSpot(state.selected.electrode, state.selected.id);
  if (!spot) { panel.hidden = true; return; }
  const beneath = spot.llzo_beneath || {};
  const tortuosity = beneath.solid_path === false ? "no solid path" : fmt(beneath.tortuosity, 3);
  const request = [...state.rescans.values()].find((r) => r.request.electrode === state.selected.electrode &&
    r.request.hotspot_id === spot.id && r.request.parent_step === state.hotspots.step_index);
  panel.hidden = false;
  panel.innerHTML = `<b>${state.selected.electrode} hot spot #${spot.id}</b> (step ${state.hotspots.step_index})<br>
    position x = <span class="x">${fmt(spot.x_um, 0)}</span> um, y = <span class="y">${fmt(spot.y_um, 0)}</span> um<br>
    area ${fmt(spot.area_um2, 0)} um\u00b2, peak j <span class="peak">${fmt(spot.peak_current_density_A_m2)}</span> A/m\u00b2<br>
    LLZO beneath (r = ${fmt(beneath.radius_um, 0)} um, ${fmt(beneath.thickness_um, 0)} um thick):
    porosity <span class="llzo-porosity">${fmt(beneath.porosity, 2, 100)}</span> %,
    tortuosity <span class="llzo-tortuosity">${tortuosity}</span>
    ${request ? `<br>rescan: ${request.event}` : ""}`;
}

// ---- rescans -----------------------------------------------------------------------------
function showRescan(header) {
  state.rescans.set(header.request.request_id, header);
  const list = document.getElementById("rescan-list");
  list.replaceChildren();
  for (const entry of [...state.rescans.values()].reverse()) {
    const r = entry.request;
    const item = document.createElement("li");
    item.className = `rescan ${entry.event}`;
    item.dataset.requestId = r.request_id;
    item.textContent = `${r.electrode} #${r.hotspot_id} of step ${r.parent_step} at (${r.x_um.toFixed(0)}, ` +
      `${r.y_um.toFixed(0)}) um, ${r.plan_name}: ${entry.event}${entry.detail ? ` (${entry.detail})` : ""} `;
    const decisions = { suggested: ["approve", "dismiss"], failed: ["approve"] }[entry.event] || [];
    if (state.approval) {
      for (const decision of decisions) {
        const button = document.createElement("button");
        button.textContent = entry.event === "failed" ? "retry" : decision;
        button.className = decision;
        button.addEventListener("click", () => decide(r.request_id, decision, button));
        item.appendChild(button);
      }
    }
    list.appendChild(item);
  }
  showDetails();
}

async function decide(requestId, decision, button) {
  button.disabled = true;
  const answer = await fetch(`api/rescans/${encodeURIComponent(requestId)}/${decision}`, { method: "POST" });
  const body = await answer.json();
  if (!answer.ok) {
    button.disabled = false;
    button.title = body.error;
    button.textContent = `${decision} (failed: ${body.error})`;
  }
}

// ---- status ------------------------------------------------------------------------------
function showStatus(header) {
  if (header.backend) document.getElementById("status-backend").textContent = header.backend;
  const stepText = document.getElementById("status-step");
  const stages = document.getElementById("status-stages");
  let stage = null;
  if (header.event === "step_started") {
    stepText.textContent = `step ${header.step_index} '${header.step_name}' of ${header.cell_id}`;
    document.getElementById("status-frames").replaceChildren();
    document.getElementById("status-error").textContent = "";
    stage = "acquire";
  } else if (header.event === "progress") {
    showFrames(header.frames_received, header.frames_expected);
    stage = "acquire";
  } else if (header.event === "stage") {
    stage = header.stage;
  } else if (header.event === "step_complete") {
    stage = "complete";
    stepText.textContent = `step ${header.step_index} '${header.step_name}' complete ` +
      `(${header.end_to_end_s.toFixed(1)} s after its last frame)`;
  } else if (header.event === "step_failed") {
    document.getElementById("status-error").textContent = `step ${header.step_index} failed: ${header.error}`;
  }
  if (stage) {
    const at = STAGES.indexOf(stage);
    stages.dataset.stage = stage;
    for (const item of stages.children) {
      const index = STAGES.indexOf(item.dataset.stage);
      item.className = index < at || stage === "complete" ? "done" : index === at ? "active" : "";
    }
  }
}

function showFrames(received, expected) {
  const box = document.getElementById("status-frames");
  box.replaceChildren();
  for (const kind of ["projections", "flats", "darks"]) {
    const got = received[kind] || 0, want = expected[kind] || 0;
    const line = document.createElement("div");
    line.className = `frames ${kind}`;
    line.textContent = `${kind}: ${got} / ${want}`;
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.innerHTML = `<div style="width: ${want ? Math.min(100, 100 * got / want) : 0}%"></div>`;
    box.append(line, bar);
  }
  box.dataset.projections = received.projections || 0;
}

// ---- plots -------------------------------------------------------------------------------
function niceTicks(low, high, { count = 5, minStep = 0 } = {}) {
  if (!(high > low)) { high = low + 1; }
  const step0 = Math.max((high - low) / count, minStep), magnitude = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= step0 * (1 - 1e-9));
  const ticks = [];
  const last = Math.ceil(high / step - 1e-9) * step;
  for (let t = Math.floor(low / step + 1e-9) * step; t <= last + 1e-9 * step; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function linePlot(svg, series, { xLabel, yLabel, yScale = 1, xMinStep = 0 }) {
  const [, , width, height] = svg.getAttribute("viewBox").split(" ").map(Number);
  const margin = { left: 48, right: 110, top: 10, bottom: 34 };
  const points = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  svg.replaceChildren();
  if (!points.length) return;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1] * yScale);
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), { minStep: xMinStep });
  const yTicks = niceTicks(Math.min(0, ...ys), Math.max(...ys));
  const [x0, x1, y0, y1] = [xTicks[0], xTicks.at(-1), yTicks[0], yTicks.at(-1)];
  const px = (x) => margin.left + (x - x0) / (x1 - x0 || 1) * (width - margin.left - margin.right);
  const py = (y) => height - margin.bottom - (y - y0) / (y1 - y0 || 1) * (height - margin.top - margin.bottom);
  let markup = `<line class="axis" x1="${px(x0)}" y1="${py(y0)}" x2="${px(x1)}" y2="${py(y0)}"/>` +
    `<line class="axis" x1="${px(x0)}" y1="${py(y0)}" x2="${px(x0)}" y2="${py(y1)}"/>`;
  markup += xTicks.map((t) => `<text x="${px(t)}" y="${height - margin.bottom + 14}" text-anchor="middle">${t}</text>`).join("");
  markup += yTicks.map((t) => `<text x="${margin.left - 5}" y="${py(t) + 4}" text-anchor="end">${t}</text>`).join("");
  markup += `<text x="${(px(x0) + px(x1)) / 2}" y="${height - 4}" text-anchor="middle">${xLabel}</text>`;
  markup += `<text transform="translate(12 ${(py(y0) + py(y1)) / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`;
  series.forEach((s, index) => {
    const valid = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const path = valid.map(([x, y], i) => `${i ? "L" : "M"}${px(x).toFixed(1)},${py(y * yScale).toFixed(1)}`).join("");
    markup += `<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="4 3"' : ""}/>`;
    if (s.markers) {
      markup += valid.map(([x, y]) => `<circle class="point" data-series="${s.name}" data-x="${x}" cx="${px(x)}" ` +
        `cy="${py(y * yScale)}" r="3" fill="${s.colour}"/>`).join("");
    }
    markup += `<text x="${width - margin.right + 8}" y="${margin.top + 12 + 14 * index}" style="fill: ${s.colour}">${s.name}</text>`;
  });
  svg.innerHTML = markup;
}

function stepColour(rank, count) {
  const [r, g, b] = ramp(VIRIDIS, 0.3 + 0.7 * (count > 1 ? rank / (count - 1) : 1));
  return `rgb(${r},${g},${b})`;
}

function drawPlots() {
  const steps = [...state.steps.values()].sort((a, b) => a.step_index - b.step_index);
  const series = [];
  const colours = { top: "#4ea1ff", bottom: "#ff9f43" };
  for (const electrode of ELECTRODES) {
    series.push({ name: `${electrode}`, colour: colours[electrode], markers: true,
                  points: steps.map((s) => [s.step_index, s[electrode].porosity]) });
    series.push({ name: `${electrode} < 10 um`, colour: colours[electrode], dashed: true,
                  points: steps.map((s) => [s.step_index, s[electrode].porosity_near_interface]) });
  }
  const plot = document.getElementById("porosity-plot");
  linePlot(plot, series, { xLabel: "step", yLabel: "Li porosity (%)", yScale: 100, xMinStep: 1 });
  plot.dataset.steps = steps.length;
  const indices = [...state.profiles.keys()].sort((a, b) => a - b);
  for (const electrode of ELECTRODES) {
    const svg = document.getElementById(`depth-${electrode}`);
    linePlot(svg, indices.map((index, rank) => {
      const { profiles, bin_um } = state.profiles.get(index);
      const profile = profiles[electrode] || [];
      return { name: `${electrode} step ${index}`, colour: stepColour(rank, indices.length),
               points: profile.map((p, k) => [(k + 0.5) * bin_um, p === null ? NaN : p]) };
    }), { xLabel: `depth into the ${electrode} Li (um)`, yLabel: "porosity (%)", yScale: 100 });
    svg.dataset.steps = indices.length;
  }
  drawTable(steps);
}

function drawTable(steps) {
  const body = document.querySelector("#steps-table tbody");
  body.innerHTML = steps.map((s) => `<tr data-step="${s.step_index}"><td>${s.step_index}</td><td>${s.step_name}</td>
    <td>${fmt(s.applied_current_density_A_m2)}</td><td>${fmt(s.top.porosity, 2, 100)} %</td>
    <td>${fmt(s.bottom.porosity, 2, 100)} %</td><td>${fmt(s.top.current_density_mean_A_m2)}</td>
    <td>${fmt(s.bottom.current_density_mean_A_m2)}</td><td>${s.top.hotspots.length + s.bottom.hotspots.length}</td>
    <td>${fmt(s.llzo && s.llzo.porosity, 2, 100)} %</td></tr>`).join("");
}

// ---- events ------------------------------------------------------------------------------
function ours(header) {
  if (!header.cell_id) return true;
  if (state.cell === null) setCell(header.cell_id);
  return header.cell_id === state.cell;
}

function handle(event) {
  const { topic, header, arrays } = event;
  if (topic === "rescans") { if (header.request) showRescan(header); return; }
  if (topic === "status") { if (ours(header)) showStatus(header); return; }
  if (!ours(header)) return;
  if (topic === "porosity") {
    for (const electrode of ELECTRODES) drawMap(electrode, "pore_density", arrays[`${electrode}_pore_density`], header.step_index);
    const profiles = {};
    for (const electrode of ELECTRODES) {
      const encoded = arrays[`${electrode}_porosity_depth_profile`];
      if (encoded) profiles[electrode] = Array.from(decode(encoded).data, (v) => Number.isFinite(v) ? v : null);
    }
    state.profiles.set(header.step_index, { profiles, bin_um: header.depth_bin_um });
    drawPlots();
  } else if (topic === "current_density") {
    for (const electrode of ELECTRODES) {
      const encoded = arrays[`${electrode}_current_density`];
      if (encoded) drawMap(electrode, "current_density", encoded, header.step_index);
    }
  } else if (topic === "hotspots") {
    showHotspots(header);
  } else if (topic === "slices") {
    state.slices = { header, arrays };
    drawSlices();
  } else if (topic === "step") {
    addReport(header.report);
    drawPlots();
  }
}

function addReport(report) {
  state.steps.set(report.step_index, report);
}

function setCell(cell) {
  state.cell = cell;
  document.getElementById("cell-name").textContent = `cell ${cell}`;
  const url = new URL(window.location);
  url.searchParams.set("cell", cell);
  window.history.replaceState(null, "", url);
}

// ---- loading from Tiled ------------------------------------------------------------------
async function getJson(path) {
  const answer = await fetch(path);
  if (!answer.ok) throw new Error(`${path}: ${answer.status}`);
  return answer.json();
}

async function loadCell(cell) {
  setCell(cell);
  const experiment = await getJson(`api/cells/${encodeURIComponent(cell)}`);
  for (const report of experiment.steps) {
    addReport(report);
    if (report.depth_profiles) {
      state.profiles.set(report.step_index, { profiles: report.depth_profiles, bin_um: report.porosity_depth_bin_um });
    }
  }
  drawPlots();
  const latest = experiment.steps.at(-1);
  if (!latest) return;
  const views = await getJson(`api/cells/${encodeURIComponent(cell)}/steps/${latest.step_index}/views`);
  for (const [name, encoded] of Object.entries(views.maps)) {
    const [electrode, ...kind] = name.split("_");
    drawMap(electrode, kind.join("_"), encoded, latest.step_index);
  }
  showHotspots({ step_index: latest.step_index, hotspots: { top: latest.top.hotspots, bottom: latest.bottom.hotspots } });
  if (views.slices) {
    state.slices = { header: { ...views.slices.header, step_index: latest.step_index }, arrays: views.slices.arrays };
    drawSlices();
  }
}

async function load() {
  const snapshot = await getJson("api/state");
  state.approval = snapshot.rescan_approval;
  const select = document.getElementById("cell-select");
  select.innerHTML = snapshot.cells.map((c) => `<option>${c}</option>`).join("");
  const wanted = new URL(window.location).searchParams.get("cell");
  const live = snapshot.status.step_started && snapshot.status.step_started.cell_id;
  const cell = wanted || live || snapshot.cells.at(-1) || null;
  if (cell && snapshot.cells.includes(cell)) await loadCell(cell);
  else if (cell) setCell(cell);
  select.value = state.cell || "";
  for (const kind of ["step_started", "progress", "stage", "step_complete", "step_failed"]) {
    const header = snapshot.status[kind];
    if (header && ours(header)) showStatus(header);
  }
  for (const header of snapshot.rescans) showRescan(header);
  if (snapshot.tiled_error) document.getElementById("status-error").textContent = snapshot.tiled_error;
}

function connect() {
  const source = new EventSource("events");
  const badge = document.getElementById("connection");
  source.onopen = () => { badge.textContent = "live"; badge.className = "badge on"; };
  source.onerror = () => { badge.textContent = "reconnecting"; badge.className = "badge off"; };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (state.loaded) handle(event); else state.buffer.push(event);
  };
}

async function start() {
  drawPhaseLegend();
  document.getElementById("overlay-toggle").addEventListener("change", drawSlices);
  document.getElementById("cell-select").addEventListener("change", (e) => {
    const url = new URL(window.location);
    url.searchParams.set("cell", e.target.value);
    window.location = url;
  });
  connect();
  try {
    await load();
  } catch (error) {
    document.getElementById("status-error").textContent = `loading from Tiled failed: ${error.message}`;
  }
  state.loaded = true;
  for (const event of state.buffer.splice(0)) handle(event);
  document.body.dataset.loaded = "true";
}

start();
