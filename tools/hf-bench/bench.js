// HF tokenizers (Rust, through the napi build @anush008/tokenizers) on the same files and
// tokenizer.json files as build/bin/bench_tokenizer, printing the same JSON lines.
//   node bench.js [--rounds 3] [--limit N] TOKENIZER_JSON TSV COLUMN [TOKENIZER_JSON TSV COLUMN]...
// Threads: set RAYON_NUM_THREADS (1, 2) in the environment; encodeBatch runs the batch on the
// rayon pool (TOKENIZERS_PARALLELISM=true). tools/bench_tokenizers.sh runs both benchmarks.
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

function readColumn(tsv, column, limit) {
  const lines = fs.readFileSync(tsv, 'utf8').split('\n');
  const header = lines[0].replace(/\r$/, '').split('\t');
  const col = header.indexOf(column);
  if (col < 0) throw new Error(`${tsv}:1: no column '${column}'`);
  const out = [];
  for (let i = 1; i < lines.length; i++) {
    if (limit && out.length >= limit) break;
    let line = lines[i];
    if (i === lines.length - 1 && line === '') break;  // final newline
    line = line.replace(/\r$/, '');
    const f = line.split('\t');
    out.push(col < f.length ? f[col] : '');
  }
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  let rounds = 3, limit = 0;
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--rounds') rounds = Math.max(1, parseInt(args[++i], 10));
    else if (args[i] === '--limit') limit = parseInt(args[++i], 10);
    else pos.push(args[i]);
  }
  if (pos.length === 0 || pos.length % 3 !== 0) {
    console.error('usage: node bench.js [--rounds 3] [--limit N] TOKENIZER_JSON TSV COLUMN ...');
    process.exit(2);
  }
  const threads = parseInt(process.env.RAYON_NUM_THREADS || '0', 10) || require('os').cpus().length;
  for (let j = 0; j < pos.length; j += 3) {
    const [tjson, tsv, column] = pos.slice(j, j + 3);
    const name = path.basename(path.dirname(tjson));
    try {
      const tok = Tokenizer.fromFile(tjson);
      const texts = readColumn(tsv, column, limit);
      await tok.encodeBatch(texts.slice(0, 2000), { addSpecialTokens: true });  // warm-up
      let best = Infinity, tokens = 0;
      for (let r = 0; r < rounds; r++) {
        const t0 = process.hrtime.bigint();
        const enc = await tok.encodeBatch(texts, { addSpecialTokens: true });
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        best = Math.min(best, s);
        tokens = 0;
        for (const e of enc) tokens += e.getLength();
      }
      console.log(JSON.stringify({
        impl: 'hf-tokenizers', tokenizer: name, file: tsv, threads, sentences: texts.length, tokens,
        seconds: +best.toFixed(6), sentences_per_s: +(texts.length / best).toFixed(1),
        tokens_per_s: +(tokens / best).toFixed(1),
      }));
    } catch (e) {
      console.log(JSON.stringify({ impl: 'hf-tokenizers', tokenizer: name, file: tsv, error: String(e.message || e) }));
    }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
