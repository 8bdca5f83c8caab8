// Side-by-side comparison of hub/crdt with npm's Yjs on the same machine in
// the same run. For each sequential trace it replays the trace into Yjs
// (best of RUNS, one transaction per patch) and runs hub/crdt's
// BenchmarkTrace on the same file (best of -count RUNS), then prints a table
// of wall and CPU times, encoded sizes and live heap with ratios (crdt /
// yjs). CPU time (GC threads included on both sides) is the steadier figure
// when the machine is shared.
//
//   npm ci --prefix hub/crdt/testdata/yjsbench
//   node --expose-gc hub/crdt/testdata/yjsbench/compare.mjs [TRACE.json.gz ...]
//
// Run from the repository root. Without arguments it uses every trace in
// ../shared/bench/traces. Exits non-zero if a goal is missed and GOALS=1.
import { execFileSync } from 'node:child_process'
import { readdirSync, existsSync } from 'node:fs'
import { join, resolve, dirname, basename } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..', '..', '..')
const runs = process.env.RUNS || '3'
let files = process.argv.slice(2)
if (files.length === 0) {
  const dir = resolve(root, '..', 'shared', 'bench', 'traces')
  if (!existsSync(dir)) {
    console.log(`no traces at ${dir}; skipping comparison`)
    process.exit(0)
  }
  files = readdirSync(dir).filter(f => f.endsWith('.json.gz')).sort().map(f => join(dir, f))
}

const rows = []
for (const file of files) {
  const y = JSON.parse(execFileSync(process.execPath, ['--expose-gc', join(here, 'bench.mjs'), file], { env: { ...process.env, RUNS: runs } }).toString().trim())
  const out = execFileSync('go', ['test', './hub/crdt', '-run', '^$', '-bench', '^BenchmarkTrace$', '-benchtime', '1x', '-count', runs], {
    cwd: root, env: { ...process.env, RUBBERDUCK_TRACE: resolve(file) }
  }).toString()
  let ns = Infinity; let cpu = Infinity; let docBytes = 0; let heapBytes = Infinity
  for (const line of out.split('\n')) {
    if (!line.startsWith('BenchmarkTrace')) continue
    const f = line.split(/\s+/)
    for (let i = 2; i < f.length - 1; i++) {
      const v = Number(f[i])
      if (f[i + 1] === 'ns/op') ns = Math.min(ns, v)
      if (f[i + 1] === 'cpu-ns/op') cpu = Math.min(cpu, v)
      if (f[i + 1] === 'docBytes') docBytes = v
      if (f[i + 1] === 'heapBytes') heapBytes = Math.min(heapBytes, v)
    }
  }
  rows.push({
    trace: basename(file).replace(/\.json\.gz$/, ''),
    patches: y.patches,
    'crdt ms': +(ns / 1e6).toFixed(1),
    'yjs ms': +y.ms.toFixed(1),
    'time ratio': +(ns / 1e6 / y.ms).toFixed(3),
    'crdt cpu ms': +(cpu / 1e6).toFixed(1),
    'yjs cpu ms': +y.cpuMs.toFixed(1),
    'cpu ratio': +(cpu / 1e6 / y.cpuMs).toFixed(3),
    'crdt bytes': docBytes,
    'yjs bytes': y.docBytes,
    'size ratio': +(docBytes / y.docBytes).toFixed(3),
    'crdt heap MB': +(heapBytes / 1e6).toFixed(2),
    'yjs heap MB': +(y.heapBytes / 1e6).toFixed(2)
  })
}
console.table(rows)
const missed = rows.filter(r => r['cpu ratio'] > 0.2 || r['size ratio'] > 1 || r['crdt heap MB'] >= 10)
if (missed.length) console.log('goals missed (cpu time <= 0.2x yjs, size <= yjs, heap < 10 MB):', missed.map(r => r.trace).join(', '))
if (process.env.GOALS === '1' && missed.length) process.exit(1)
