// govcredit's pages: plain JavaScript, no build step. Every request a signed-in user makes is
// signed in this browser with WebCrypto Ed25519 (docs/API.md §2); proofs are checked here with
// WebCrypto SHA-256 (RFC 9162 §2.1.3.2).
'use strict';

// ---- DOM helpers (text always via textContent: nothing from the server becomes markup) ----

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const view = () => document.getElementById('view');
function show(...nodes) { view().replaceChildren(...nodes); }
function errorBox(e) { return h('p', { class: 'error', role: 'alert' }, t('err') + (e.message || e)); }

// ---- Encodings and crypto ----

const enc = new TextEncoder();
function hex(buf) { return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join(''); }
function unhex(s) {
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error('not hexadecimal');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}
function b64(buf) { return btoa(String.fromCharCode(...new Uint8Array(buf))); }
function unb64(s) { return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)); }
async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)); }
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) { out.set(p, i); i += p.length; }
  return out;
}
function equalBytes(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

// ---- Signing in: the private key stays in sessionStorage ----

let signer = null; // { key: CryptoKey, keyId: string, who: {...} }

async function loadSigner(pem) {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = unb64(body);
  const key = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', key);
  const pub = unb64(jwk.x);
  const keyId = hex((await sha256(pub)).slice(0, 16));
  return { key, keyId };
}

async function restoreSigner() {
  const pem = sessionStorage.getItem('govcredit.key');
  if (!pem) return;
  try {
    signer = await loadSigner(pem);
    signer.who = JSON.parse(sessionStorage.getItem('govcredit.who') || 'null');
  } catch (e) {
    sessionStorage.removeItem('govcredit.key');
  }
}

function nonce() { return hex(crypto.getRandomValues(new Uint8Array(16))); }

// fetch() of the API: JSON in and out, signed when a key is loaded. Throws {message, code, status}.
async function api(method, target, body) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = { 'Content-Type': 'application/json' };
  if (signer) {
    const time = String(Date.now());
    const n = nonce();
    const bodyHash = hex(await sha256(enc.encode(text)));
    const s = ['govcredit-request-v1', method, target, time, n, bodyHash].join('\n');
    const sig = await crypto.subtle.sign({ name: 'Ed25519' }, signer.key, enc.encode(s));
    Object.assign(headers, {
      'X-Govcredit-Key': signer.keyId, 'X-Govcredit-Time': time,
      'X-Govcredit-Nonce': n, 'X-Govcredit-Signature': b64(sig),
    });
  }
  const res = await fetch(target, { method, headers, body: body === undefined ? undefined : text });
  let json = null;
  try { json = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok) {
    const err = new Error((json && json.message) || res.statusText);
    err.code = json && json.code;
    err.status = res.status;
    throw err;
  }
  return json;
}

// A public POST (the complaint endpoints): never signed, so a signed-in member of staff files
// and looks up complaints exactly as a citizen does.
async function postPublic(target, body) {
  const res = await fetch(target, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(json.message);
  return json;
}

function needSignIn() {
  if (signer) return false;
  show(h('section', {}, h('p', { class: 'notice' }, t('signin.needed')),
    h('a', { class: 'button', href: '#/signin' }, t('nav.signin'))));
  return true;
}

// ---- Views ----

function home() {
  show(h('section', { class: 'hero' },
    h('h1', {}, t('home.title')),
    h('p', {}, t('home.lead')),
    h('div', { class: 'actions' },
      h('a', { class: 'button primary', href: '#/complaint' }, t('home.complain')),
      h('a', { class: 'button', href: '#/status' }, t('home.status')),
      h('a', { class: 'button', href: '#/agencies' }, t('home.agencies')),
      h('a', { class: 'button', href: '#/audit' }, t('home.audit')))));
}

function agencyName(a) { return LANG === 'zh' ? a.name_zh : (a.name_en || a.name_zh); }

async function complaintForm() {
  const agencySel = h('select', { id: 'complaint-agency', required: true },
    h('option', { value: '' }, t('complaint.choose')));
  const catSel = h('select', { id: 'complaint-category' }, h('option', { value: '' }, '—'),
    Object.keys(CATEGORIES.zh).map((c) => h('option', { value: c }, categoryName(c))));
  const summary = h('textarea', { id: 'complaint-summary', rows: 6, maxlength: 4000, required: true });
  const contact = h('input', { id: 'complaint-contact', maxlength: 300, autocomplete: 'off' });
  const out = h('div', { id: 'complaint-result' });
  const form = h('form', { class: 'card', id: 'complaint-form' },
    h('h1', {}, t('complaint.title')),
    h('label', {}, t('complaint.agency'), agencySel),
    h('label', {}, t('complaint.category'), catSel),
    h('label', {}, t('complaint.summary'), summary),
    h('label', {}, t('complaint.contact'), contact),
    h('button', { type: 'submit', id: 'complaint-submit', class: 'primary' }, t('complaint.submit')),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren(t('loading'));
    try {
      const j = await postPublic('/v1/complaints',
        { agency: agencySel.value, category: catSel.value, summary: summary.value, contact: contact.value });
      sessionStorage.setItem('govcredit.lastReceipt', j.receipt);
      out.replaceChildren(h('div', { class: 'receipt', role: 'status' },
        h('p', {}, t('complaint.done')),
        h('dl', {}, h('dt', {}, t('complaint.receipt')), h('dd', { id: 'receipt' }, j.receipt),
          h('dt', {}, t('complaint.secret')), h('dd', { id: 'secret' }, j.secret)),
        h('p', { class: 'warn' }, t('complaint.warn')),
        h('a', { class: 'button', href: '#/status' }, t('home.status'))));
      form.querySelector('button[type=submit]').disabled = true;
    } catch (e) { out.replaceChildren(errorBox(e)); }
  });
  show(form);
  try {
    const d = await api('GET', '/v1/directory');
    for (const a of d.agencies) agencySel.append(h('option', { value: a.agency }, agencyName(a)));
  } catch (e) { out.replaceChildren(errorBox(e)); }
}

function statusForm() {
  const receipt = h('input', { id: 'status-receipt', required: true, value: sessionStorage.getItem('govcredit.lastReceipt') || '' });
  const secret = h('input', { id: 'status-secret', required: true, autocomplete: 'off' });
  const out = h('div', { id: 'status-result' });
  const form = h('form', { class: 'card' }, h('h1', {}, t('status.title')),
    h('label', {}, t('complaint.receipt'), receipt), h('label', {}, t('complaint.secret'), secret),
    h('button', { type: 'submit', id: 'status-submit', class: 'primary' }, t('status.submit')), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren(t('loading'));
    try {
      const j = await postPublic('/v1/complaints/lookup',
        { receipt: receipt.value.trim(), secret: secret.value.trim() });
      out.replaceChildren(h('dl', {},
        h('dt', {}, t('complaint.agency')), h('dd', {}, LANG === 'zh' ? j.agency_name_zh : j.agency_name_en),
        h('dt', {}, t('status.filed')), h('dd', {}, j.filed_at),
        h('dt', {}, t('status.phase')), h('dd', { id: 'status-phase', 'data-phase': j.phase }, phaseName(j.phase)),
        h('dt', {}, t('complaint.summary')), h('dd', {}, j.summary || '')),
      h('h2', {}, t('status.history')),
      h('ol', { class: 'timeline' }, j.history.map((x) => h('li', {}, h('time', {}, x.at), ' ', x.type))));
    } catch (e) { out.replaceChildren(errorBox(e)); }
  });
  show(form);
}

async function signIn() {
  const pem = h('textarea', { id: 'signin-key', rows: 4, placeholder: '-----BEGIN PRIVATE KEY-----' });
  const out = h('div', { id: 'signin-result' });
  const demo = h('div', { class: 'demo-ids' });
  async function use(text) {
    try {
      const s = await loadSigner(text);
      signer = s;
      const who = await api('GET', '/v1/whoami');
      signer.who = who;
      sessionStorage.setItem('govcredit.key', text);
      sessionStorage.setItem('govcredit.who', JSON.stringify(who));
      updateNav();
      out.replaceChildren(h('p', { class: 'ok', id: 'signed-in' }, t('signin.ok') + who.name + ' (' + who.role + ')'));
    } catch (e) {
      signer = null;
      out.replaceChildren(errorBox(e));
    }
  }
  const form = h('form', { class: 'card' }, h('h1', {}, t('signin.title')), h('p', {}, t('signin.lead')),
    demo, h('label', {}, t('signin.key'), pem),
    h('button', { type: 'submit', class: 'primary' }, t('signin.submit')), out);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); use(pem.value); });
  show(form);
  try {
    const r = await fetch('/v1/demo/identities');
    if (r.ok) {
      const ids = await r.json();
      demo.append(h('p', {}, t('signin.demo')), ...ids.map((x) =>
        h('button', { type: 'button', class: 'demo-id', 'data-principal': x.principal, onclick: () => use(x.private_key_pem) },
          (LANG === 'zh' ? x.name_zh : x.name_en) + ' · ' + x.role)));
    }
  } catch (e) { /* no demo identities */ }
}

function barChart(title, rows, unit) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const w = 320, bar = 18, gap = 6, label = 150;
  const height = rows.length * (bar + gap) + 10;
  return h('figure', { class: 'chart' }, h('figcaption', {}, title),
    svg('svg', { viewBox: `0 0 ${w + label + 40} ${height}`, role: 'img', 'aria-label': title },
      rows.map((r, i) => svg('g', {},
        svg('text', { x: 0, y: i * (bar + gap) + bar - 4, class: 'label' }, r.label),
        svg('rect', { x: label, y: i * (bar + gap), width: Math.max(1, (r.value / max) * w), height: bar, class: 'bar ' + (r.cls || '') }),
        svg('text', { x: label + (r.value / max) * w + 4, y: i * (bar + gap) + bar - 4, class: 'value' }, r.value + (unit || ''))))));
}

async function agencies() {
  if (needSignIn()) return;
  show(h('p', {}, t('loading')));
  let data;
  try { data = await api('GET', '/v1/agencies'); } catch (e) { show(errorBox(e)); return; }
  const list = data.agencies;
  const districts = [...new Set(list.map((a) => a.district).filter(Boolean))].sort();
  const dSel = h('select', { id: 'filter-district' }, h('option', { value: '' }, t('agencies.all')),
    h('option', { value: '-' }, LANG === 'zh' ? '市级' : 'City level'), districts.map((d) => h('option', { value: d }, d)));
  const bSel = h('select', { id: 'filter-band' }, h('option', { value: '' }, t('agencies.all')),
    ['A', 'B', 'C', 'D'].map((b) => h('option', { value: b }, b)));
  const q = h('input', { id: 'filter-q', type: 'search', placeholder: t('agencies.search') });
  const tbody = h('tbody');
  function render() {
    const rows = list.filter((a) => (!dSel.value || (dSel.value === '-' ? !a.district : a.district === dSel.value)) &&
      (!bSel.value || a.band === bSel.value) &&
      (!q.value || (a.name_zh + a.name_en + a.agency).toLowerCase().includes(q.value.toLowerCase())))
      .sort((a, b) => b.score - a.score);
    tbody.replaceChildren(...rows.map((a) => h('tr', {},
      h('td', {}, h('a', { href: '#/agency/' + encodeURIComponent(a.agency) }, agencyName(a))),
      h('td', {}, a.district || '—'),
      h('td', { class: 'num' }, a.score.toFixed(1)),
      h('td', {}, h('span', { class: 'band band-' + a.band }, a.band)),
      h('td', { class: 'num' }, a.confirmed_records),
      h('td', { class: 'num' + (a.overdue_recommendations ? ' overdue' : '') }, a.overdue_recommendations))));
  }
  [dSel, bSel, q].forEach((el) => el.addEventListener('input', render));
  const bands = ['A', 'B', 'C', 'D'].map((b) => ({ label: b, value: list.filter((a) => a.band === b).length, cls: 'band-' + b }));
  const overdue = list.filter((a) => a.overdue_recommendations > 0)
    .sort((a, b) => b.overdue_recommendations - a.overdue_recommendations).slice(0, 8)
    .map((a) => ({ label: agencyName(a).slice(0, 12), value: a.overdue_recommendations, cls: 'overdue' }));
  show(h('h1', {}, t('agencies.title')), h('p', { class: 'muted' }, t('agencies.asof') + ' ' + data.as_of),
    h('div', { class: 'charts' }, barChart(t('agencies.chart.bands'), bands), barChart(t('agencies.chart.overdue'), overdue)),
    h('div', { class: 'filters' }, h('label', {}, t('agencies.district'), dSel), h('label', {}, t('agencies.band'), bSel), q),
    h('table', { class: 'list', id: 'agency-table' }, h('thead', {}, h('tr', {},
      h('th', {}, t('agencies.agency')), h('th', {}, t('agencies.district')), h('th', {}, t('agencies.score')),
      h('th', {}, t('agencies.band')), h('th', {}, t('agencies.records')), h('th', {}, t('agencies.overdue')))), tbody));
  render();
}

async function agency(id) {
  if (needSignIn()) return;
  show(h('p', {}, t('loading')));
  const enc = encodeURIComponent(id);
  let st, ex, recs;
  try {
    [st, ex, recs] = await Promise.all([api('GET', `/v1/agencies/${enc}`), api('GET', `/v1/agencies/${enc}/explain`),
      api('GET', `/v1/recommendations?agency=${enc}&limit=200`)]);
  } catch (e) { show(errorBox(e)); return; }
  const timeline = h('ol', { class: 'timeline', id: 'trail' });
  const more = h('button', { type: 'button' }, t('agency.more'));
  let next = 0;
  async function loadTrail() {
    try {
      const page = await api('GET', `/v1/agencies/${enc}/trail?from=${next}&limit=50`);
      for (const l of page.lines)
        timeline.append(h('li', {}, h('time', {}, l.at), ' ', h('span', { class: 'type' }, l.type),
          ' ', h('a', { href: `#/audit?partition=${page.partition}&seq=${l.seq}` }, '#' + l.seq)));
      if (page.next_from === undefined) more.remove(); else next = page.next_from;
    } catch (e) { timeline.append(errorBox(e)); }
  }
  more.addEventListener('click', loadTrail);
  const name = LANG === 'zh' ? st.name_zh : (st.name_en || st.name_zh);
  const counts = (obj) => h('dl', { class: 'counts' }, Object.entries(obj || {}).map(([k, v]) =>
    [h('dt', {}, PHASES.zh[k] ? phaseName(k) : recordPhaseName(k)), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : v)]));
  show(h('h1', {}, name || id),
    h('section', { class: 'card' }, h('h2', {}, t('agency.status')),
      h('p', { class: 'score' }, h('span', { class: 'big', id: 'agency-score' }, Number(st.score).toFixed(1)),
        ' ', h('span', { class: 'band band-' + st.band }, st.band),
        ' ', h('span', { class: 'muted' }, t('agencies.asof') + ' ' + st.as_of)),
      h('h3', {}, t('agency.records')), counts(st.records),
      h('h3', {}, LANG === 'zh' ? '投诉' : 'Complaints'), counts(st.complaints),
      st.overdue.length ? h('p', { class: 'overdue' }, t('agencies.overdue') + ': ' + st.overdue.length) : null),
    h('section', { class: 'card' }, h('h2', {}, t('agency.explain')),
      h('table', { class: 'list', id: 'explain' }, h('thead', {}, h('tr', {}, h('th', {}, t('agency.points')), h('th', {}, t('agency.reason')), h('th', {}, '#'))),
        h('tbody', {}, (ex.contributions || []).map((l) => h('tr', {}, h('td', { class: 'num' }, Number(l.points).toFixed(2)), h('td', {}, l.what),
          h('td', {}, l.seq === undefined ? '' : h('a', { href: `#/audit?partition=${st.partition || 0}&seq=${l.seq}` }, '#' + l.seq))))))),
    h('section', { class: 'card' }, h('h2', {}, t('agency.recs')),
      h('ul', {}, recs.recommendations.map((r) => h('li', { class: r.overdue ? 'overdue' : '' },
        r.reference, ' · ', t('agency.deadline'), ' ', r.deadline, r.overdue ? ' · ' + t('agency.overdue') : '')))),
    h('section', { class: 'card' }, h('h2', {}, t('agency.trail')), timeline, more));
  loadTrail();
}

// RFC 9162 §2.1.3.2: the root from a leaf hash and its inclusion path.
async function rootFromInclusion(index, size, leafHash, path) {
  if (index >= size) throw new Error('index beyond tree size');
  let fn = BigInt(index), sn = BigInt(size) - 1n, r = leafHash;
  for (const p of path) {
    if (sn === 0n) throw new Error('path too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(concat(Uint8Array.of(1), p, r));
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await sha256(concat(Uint8Array.of(1), r, p));
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('path too short');
  return r;
}

async function verifyCheckpointSignature(note, publicKeyHex) {
  const split = note.indexOf('\n\n');
  const body = note.slice(0, split + 1);
  const origin = body.split('\n')[0];
  const pub = unhex(publicKeyHex);
  const key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  const keyHash = (await sha256(concat(enc.encode(origin + '\n'), Uint8Array.of(1), pub))).slice(0, 4);
  for (const line of note.slice(split + 2).split('\n')) {
    const prefix = '\u2014 ' + origin + ' ';
    if (!line.startsWith(prefix)) continue;
    const blob = unb64(line.slice(prefix.length));
    if (blob.length !== 68 || !equalBytes(blob.slice(0, 4), keyHash)) continue;
    return crypto.subtle.verify({ name: 'Ed25519' }, key, blob.slice(4), enc.encode(body));
  }
  return false;
}

async function audit(params) {
  if (needSignIn()) return;
  const part = h('input', { id: 'audit-partition', type: 'number', min: 0, value: params.get('partition') || 0 });
  const seq = h('input', { id: 'audit-seq', type: 'number', min: 0, value: params.get('seq') || 0 });
  const pk = h('input', { id: 'audit-pubkey', size: 64 });
  const out = h('div', { id: 'audit-result' });
  const form = h('form', { class: 'card' }, h('h1', {}, t('audit.title')), h('p', {}, t('audit.lead')),
    h('label', {}, t('audit.partition'), part), h('label', {}, t('audit.seq'), seq), h('label', {}, t('audit.pubkey'), pk),
    h('p', { class: 'muted' }, t('audit.keynote')),
    h('button', { type: 'submit', id: 'audit-run', class: 'primary' }, t('audit.run')), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren(t('loading'));
    try {
      const cp = await api('GET', `/v1/checkpoints/latest?partition=${part.value}`);
      const proof = await api('GET', `/v1/proofs/inclusion?partition=${part.value}&seq=${seq.value}&size=${cp.size}`);
      const leaf = await sha256(concat(Uint8Array.of(0), unhex(proof.leaf_data)));
      const root = await rootFromInclusion(proof.seq, proof.tree_size, leaf, proof.path.map(unhex));
      const cpRoot = unb64(cp.note.split('\n')[2]);
      const rootOk = equalBytes(root, cpRoot) && proof.tree_size === Number(cp.note.split('\n')[1]);
      const sigOk = await verifyCheckpointSignature(cp.note, pk.value.trim() || cp.public_key);
      const ok = rootOk && sigOk;
      out.replaceChildren(h('div', { class: ok ? 'ok' : 'error', id: 'audit-verdict', 'data-ok': String(ok) },
        ok ? t('audit.ok') : t('audit.bad') + (rootOk ? '' : 'root mismatch ') + (sigOk ? '' : t('audit.sig.bad'))),
      h('dl', {}, h('dt', {}, t('audit.size')), h('dd', {}, cp.size),
        h('dt', {}, t('audit.root')), h('dd', { class: 'mono' }, hex(root)),
        h('dt', {}, 'Ed25519'), h('dd', {}, sigOk ? t('audit.sig.ok') : t('audit.sig.bad'))),
      h('pre', { class: 'json' }, cp.note));
    } catch (e) { out.replaceChildren(errorBox(e)); }
  });
  show(form);
}

// ---- Navigation ----

function updateNav() {
  const link = document.getElementById('signin-link');
  if (signer && signer.who) {
    link.textContent = t('nav.signout') + ' (' + signer.who.principal + ')';
    link.setAttribute('href', '#/signout');
  } else {
    link.textContent = t('nav.signin');
    link.setAttribute('href', '#/signin');
  }
}

function applyTexts() {
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.getElementById('lang').textContent = LANG === 'zh' ? 'English' : '中文';
  document.title = t('brand') + ' · govcredit';
  updateNav();
}

function route() {
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'signout') {
    signer = null;
    sessionStorage.removeItem('govcredit.key');
    sessionStorage.removeItem('govcredit.who');
    updateNav();
    location.hash = '#/';
    return;
  }
  const views = {
    complaint: complaintForm, status: statusForm, signin: signIn, agencies,
    agency: () => agency(decodeURIComponent(parts[1] || '')), audit: () => audit(params),
  };
  (views[parts[0]] || home)();
}

document.addEventListener('DOMContentLoaded', async () => {
  setLang(LANG);
  document.getElementById('lang').addEventListener('click', () => {
    setLang(LANG === 'zh' ? 'en' : 'zh');
    applyTexts();
    route();
  });
  await restoreSigner();
  applyTexts();
  window.addEventListener('hashchange', route);
  route();
});
