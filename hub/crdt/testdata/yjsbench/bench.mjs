// Replays josephg/editing-traces files into npm's yjs, one transaction per
// patch (as the crdt-benchmarks suite does), and prints one JSON line per
// trace: {trace, patches, ms, cpuMs, docBytes, heapBytes} (best of RUNS;
// cpuMs is process CPU time, steadier than wall time on a shared machine). Used by hub/crdt's
// compare script so Go and Yjs run on the same machine in the same run.
//
//   node bench.mjs FILE.json.gz [FILE...]    (run with --expose-gc for heapBytes)
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { basename } from 'node:path'
import * as Y from 'yjs'

const runs = Number(process.env.RUNS || 3)

function replay (trace) {
  const doc = new Y.Doc()
  const text = doc.getText('text')
  if (trace.startContent) text.insert(0, trace.startContent)
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn.patches) {
      doc.transact(() => {
        if (del > 0) text.delete(pos, del)
        if (ins !== '') text.insert(pos, ins)
      })
    }
  }
  return doc
}

const gc = () => { if (global.gc) { global.gc(); global.gc() } }

for (const file of process.argv.slice(2)) {
  const trace = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'))
  if (trace.kind === 'concurrent') continue
  let patches = 0
  for (const t of trace.txns) patches += t.patches.length
  let best = Infinity
  let bestCpu = Infinity
  let doc
  for (let i = 0; i < runs; i++) {
    doc = null
    gc()
    const cpu0 = process.cpuUsage()
    const start = process.hrtime.bigint()
    doc = replay(trace)
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    const cpu = process.cpuUsage(cpu0)
    best = Math.min(best, ms)
    bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1e3)
  }
  const text = doc.getText('text').toString()
  if (text !== trace.endContent) {
    console.error(`${file}: yjs final text differs from endContent`)
    process.exit(1)
  }
  const docBytes = Y.encodeStateAsUpdate(doc).length
  doc = null
  gc()
  const h0 = process.memoryUsage().heapUsed
  doc = replay(trace)
  gc()
  const heapBytes = process.memoryUsage().heapUsed - h0
  console.log(JSON.stringify({ trace: basename(file).replace(/\.json\.gz$/, ''), patches, ms: best, cpuMs: bestCpu, docBytes, heapBytes }))
}
