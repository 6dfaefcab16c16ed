// AINTECH analytics dashboard: plain JS, SVG charts drawn here, nothing loaded from elsewhere.
"use strict";

const BASE = location.pathname.replace(/ui\/?$/, "");          // "/api/analytics/" behind the gateway
const TOKEN_KEY = "aintech.analytics.token";
const FILTERS = ["start", "end", "carrier", "line", "province", "agent"];
const TYPES = ["sales", "financial", "customers", "agents"];
const LABELS = {
  written_premium: "Primas emitidas", earned_premium: "Primas devengadas", policies_in_force: "Pólizas en vigor",
  retention_rate: "Retención", churn_rate: "Bajas", claims: "Siniestros", claim_frequency: "Frecuencia",
  severity: "Coste medio", loss_ratio: "Siniestralidad", incurred: "Siniestros incurridos", paid: "Pagado",
  quotes_issued: "Presupuestos", quotes_bound: "Convertidos", quote_to_bind: "Conversión",
  exposure_years: "Exposición (años)",
};
const RATIOS = new Set(["retention_rate", "churn_rate", "loss_ratio", "quote_to_bind"]);
const MONEY = new Set(["written_premium", "earned_premium", "severity", "incurred", "paid"]);

let token = null;
let last = null;          // the last dashboard answer
let selected = null;      // the breakdown key clicked in a chart
let refreshTimer = null;

const $ = (sel) => document.querySelector(sel);

function state() {
  const q = new URLSearchParams(location.search);
  const type = TYPES.includes(q.get("type")) ? q.get("type") : "sales";
  const filters = {};
  for (const k of FILTERS) if (q.get(k)) filters[k] = q.get(k);
  return { type, filters };
}

function setState(type, filters) {
  const q = new URLSearchParams({ type, ...filters });
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

function fmt(name, value) {
  if (value === null || value === undefined) return "—";
  const n = Number(value);
  if (RATIOS.has(name)) return `${(n * 100).toFixed(1)} %`;
  if (MONEY.has(name)) return n.toLocaleString("es-ES", { style: "currency", currency: "EUR" });
  return n.toLocaleString("es-ES", { maximumFractionDigits: 2 });
}

function change(value) {
  if (value === null || value === undefined) return `<span>—</span>`;
  const pct = Number(value) * 100;
  const cls = pct > 0 ? "up" : pct < 0 ? "down" : "";
  return `<span class="${cls}">${pct > 0 ? "+" : ""}${pct.toFixed(1)} %</span>`;
}

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function api(path) {
  const res = await fetch(BASE + path, { headers: { Authorization: `Bearer ${token}` } });
  if (res.status === 401) { signOut(); throw new Error("La sesión ha caducado."); }
  const body = await res.json();
  if (!res.ok) throw new Error(body.detail || body.title || `Error ${res.status}`);
  return body;
}

function signOut() {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("#board").hidden = true;
  $("#signin").hidden = false;
}

async function load() {
  const { type, filters } = state();
  document.querySelectorAll("#types a").forEach((a) => a.classList.toggle("active", a.dataset.type === type));
  for (const k of FILTERS) { const input = $(`#filters [name=${k}]`); if (input) input.value = filters[k] || ""; }
  const q = new URLSearchParams(filters);
  try {
    last = await api(`dashboard/${type}?${q}`);
    $("#error").textContent = "";
    render(last);
    $("#updated").textContent = new Date().toLocaleTimeString("es-ES");
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
  } catch (err) {
    $("#error").textContent = err.message;
  }
}

function render(d) {
  const k = d.kpis;
  $("#period").textContent = `${k.period.start} – ${k.period.end}`;
  const total = k.groups[0] ? k.groups[0].kpis : {};
  $("#cards").innerHTML = Object.entries(total).map(([name, v]) => `
    <div class="card" data-kpi="${esc(name)}">
      <h3>${esc(LABELS[name] || name)}</h3>
      <div class="value" data-value="${esc(v.value ?? "")}">${fmt(name, v.value)}</div>
      <div class="change">vs periodo anterior ${change(v.change_vs_previous)}</div>
      <div class="change">vs hace un año ${change(v.change_vs_year_before)}</div>
    </div>`).join("");
  barChart($("#chart-months .chart"), d.premium_by_month.map((m) => ({ key: m.month.slice(0, 7), value: Number(m.written) })), null);
  const breakdown = d.breakdown ? d.breakdown.groups : [];
  const metric = d.type === "financial" ? "loss_ratio" : d.type === "customers" ? "policies_in_force" : "written_premium";
  $("#breakdown-title").textContent = `${LABELS[metric]} por ${d.breakdown && d.breakdown.by === "province" ? "provincia" : "compañía"}`;
  barChart($("#chart-breakdown .chart"), breakdown.map((g) => ({ key: g.key || "—", value: Number(g.kpis[metric]?.value || 0) })), (key) => {
    selected = key; renderTables(d);
    document.querySelector(`#table-breakdown tr[data-key="${CSS.escape(key)}"]`)?.scrollIntoView({ block: "center" });
  });
  const issued = Number(total.quotes_issued?.value || 0), bound = Number(total.quotes_bound?.value || 0);
  barChart($("#chart-funnel .chart"), [{ key: "Presupuestos", value: issued }, { key: "Pólizas", value: bound }], null);
  renderTables(d);
}

function barChart(el, rows, onClick) {
  if (!rows.length) { el.innerHTML = `<p class="meta">Sin datos en el periodo.</p>`; return; }
  const w = 420, h = 180, pad = 24, max = Math.max(...rows.map((r) => r.value), 1e-9);
  const bw = (w - pad * 2) / rows.length;
  const bars = rows.map((r, i) => {
    const bh = (h - pad * 2) * (r.value / max);
    const x = pad + i * bw + 2, y = h - pad - bh;
    return `<g><rect class="bar" data-key="${esc(r.key)}" x="${x}" y="${y}" width="${Math.max(bw - 4, 1)}" height="${bh}">
      <title>${esc(r.key)}: ${r.value.toLocaleString("es-ES")}</title></rect>
      <text x="${x + bw / 2 - 2}" y="${h - 8}" text-anchor="middle">${esc(r.key)}</text></g>`;
  }).join("");
  el.innerHTML = `<svg viewBox="0 0 ${w} ${h}" role="img"><line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#d0d7de"/>${bars}</svg>`;
  if (onClick) el.querySelectorAll("rect.bar").forEach((r) => r.addEventListener("click", () => onClick(r.dataset.key)));
}

function table(id, title, columns, rows) {
  const head = columns.map((c) => `<th>${esc(c.label)}</th>`).join("");
  const body = rows.map((r) => `<tr data-key="${esc(r.__key ?? "")}" class="${r.__key !== undefined && r.__key === selected ? "selected" : ""}">` +
    columns.map((c) => `<td>${esc(c.format ? c.format(r[c.key]) : r[c.key])}</td>`).join("") + "</tr>").join("");
  return `<div class="table-head"><h2>${esc(title)}</h2><button class="link" data-csv="${id}">Exportar CSV</button></div>
    <table id="${id}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function renderTables(d) {
  const parts = [];
  const names = Object.keys(d.kpis.groups[0]?.kpis || {});
  if (d.breakdown) {
    const rows = d.breakdown.groups.map((g) => {
      const row = { __key: g.key || "—", key: g.key || "—" };
      for (const n of names) row[n] = g.kpis[n]?.value;
      return row;
    });
    parts.push(table("table-breakdown", "Detalle", [{ key: "key", label: "" }, ...names.map((n) => ({ key: n, label: LABELS[n] || n, format: (v) => fmt(n, v) }))], rows));
  }
  if (d.premium_by_month.length) {
    parts.push(table("table-months", "Primas por mes", [{ key: "month", label: "Mes" }, { key: "written", label: "Primas", format: (v) => fmt("written_premium", v) }, { key: "terms", label: "Pólizas" }], d.premium_by_month));
  }
  if (d.type === "agents") {
    parts.push(table("table-agents", "Agentes", [
      { key: "agent_id", label: "Agente" }, { key: "calls", label: "Llamadas" }, { key: "answered", label: "Atendidas" },
      { key: "answer_rate", label: "% atendidas", format: (v) => fmt("quote_to_bind", v) },
      { key: "avg_handle_seconds", label: "TMO (s)" }, { key: "conversions", label: "Ventas" }], d.agents));
    parts.push(table("table-channels", "Canales", [
      { key: "channel", label: "Canal" }, { key: "inbound", label: "Entrantes" }, { key: "outbound", label: "Salientes" },
      { key: "median_first_response_seconds", label: "1ª respuesta (s, mediana)" }], d.channels));
  }
  $("#tables").innerHTML = parts.join("");
  document.querySelectorAll("[data-csv]").forEach((b) => b.addEventListener("click", () => exportCsv(b.dataset.csv)));
}

function exportCsv(id) {
  const rows = [...document.querySelectorAll(`#${id} tr`)].map((tr) =>
    [...tr.children].map((c) => `"${c.textContent.replace(/"/g, '""')}"`).join(";"));
  const blob = new Blob(["\ufeff" + rows.join("\r\n")], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${id}.csv`;
  a.click();
  URL.revokeObjectURL(a.href);
}

function connectLive() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/analytics/live`;
  const ws = new WebSocket(url, ["bearer", token]);
  ws.onopen = () => { $("#live").className = "on"; };
  ws.onmessage = (msg) => {
    const event = JSON.parse(msg.data);
    if (event.type === "ingested" || event.type === "resync") {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(load, 150);
    }
  };
  ws.onclose = () => { $("#live").className = "off"; if (token) setTimeout(connectLive, 2000); };
}

function start() {
  $("#signin").hidden = true;
  $("#board").hidden = false;
  load();
  connectLive();
}

document.addEventListener("DOMContentLoaded", () => {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  token = sessionStorage.getItem(TOKEN_KEY);
  document.querySelectorAll("#types a").forEach((a) => a.addEventListener("click", (e) => {
    e.preventDefault(); selected = null; setState(a.dataset.type, state().filters); load();
  }));
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const filters = {};
    for (const k of FILTERS) { const v = $(`#filters [name=${k}]`).value.trim(); if (v) filters[k] = v; }
    setState(state().type, filters); load();
  });
  $("#signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const res = await fetch("/api/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
    });
    const body = await res.json();
    if (!res.ok || !body.access_token) { $("#signin-error").textContent = body.detail || "No se pudo iniciar sesión."; return; }
    token = body.access_token;
    sessionStorage.setItem(TOKEN_KEY, token);
    start();
  });
  if (token) start(); else signOut();
});
