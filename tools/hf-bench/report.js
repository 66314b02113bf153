// Combines the JSON lines of bench_tokenizer (graft) and bench.js (HF tokenizers) read from
// stdin into one table with the graft/HF ratios and the 1→N thread scaling.
'use strict';
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.startsWith('{'));
const all = lines.map((l) => JSON.parse(l));
const control = all.filter((r) => r.impl === 'control');
const rows = all.filter((r) => r.impl !== 'control');
for (const c of control)
  if (c.threads !== 1)
    console.log(`machine now: a pure CPU loop scales ${c.scaling.toFixed(2)}x from 1 to ${c.threads} threads ` +
      '(the ceiling for any scaling figure below; ~2x only on an idle machine)');
const key = (r) => `${r.tokenizer}\t${r.file}`;
const groups = new Map();
for (const r of rows) {
  if (!groups.has(key(r))) groups.set(key(r), []);
  groups.get(key(r)).push(r);
}
const fmt = (x, d = 0) => (x === undefined ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log([pad('tokenizer', 18), pad('file', 16), lpad('thr', 3), lpad('graft sent/s', 13), lpad('graft tok/s', 12),
  lpad('HF sent/s', 11), lpad('HF tok/s', 11), lpad('graft/HF', 9), lpad('graft scaling', 14), lpad('HF scaling', 11)].join(' '));
let problems = 0;
for (const [k, rs] of groups) {
  const [tok, file] = k.split('\t');
  const short = file.split('/').slice(-2).join('/');
  for (const r of rs.filter((x) => x.error)) {
    console.log(`${pad(tok, 18)} ${pad(short, 16)} ${r.impl}: ${r.error}`);
    problems++;
  }
  const g = rs.filter((x) => x.impl === 'graft' && !x.error);
  const h = rs.filter((x) => x.impl === 'hf-tokenizers' && !x.error);
  const threads = [...new Set([...g, ...h].map((x) => x.threads))].sort((a, b) => a - b);
  const g1 = g.find((x) => x.threads === 1), h1 = h.find((x) => x.threads === 1);
  for (const t of threads) {
    const gr = g.find((x) => x.threads === t), hr = h.find((x) => x.threads === t);
    if (gr && hr && gr.tokens !== hr.tokens) {
      console.log(`  !! token counts differ: graft ${gr.tokens}, HF ${hr.tokens}`);
      problems++;
    }
    console.log([pad(tok, 18), pad(short, 16), lpad(t, 3), lpad(fmt(gr && gr.sentences_per_s), 13), lpad(fmt(gr && gr.tokens_per_s), 12),
      lpad(fmt(hr && hr.sentences_per_s), 11), lpad(fmt(hr && hr.tokens_per_s), 11),
      lpad(gr && hr ? fmt(gr.tokens_per_s / hr.tokens_per_s, 2) + 'x' : '-', 9),
      lpad(gr && g1 && t !== 1 ? fmt(gr.tokens_per_s / g1.tokens_per_s, 2) + 'x' : '', 14),
      lpad(hr && h1 && t !== 1 ? fmt(hr.tokens_per_s / h1.tokens_per_s, 2) + 'x' : '', 11)].join(' '));
  }
}
process.exit(problems ? 1 : 0);
