// The queues: each queue's jobs by state and by pool, its share of the farm as the scheduler
// saw it in its last rounds, and a chart of the recent past.

import { useEffect, useState } from "react"

import {
  getQueueSchedulingReport,
  getQueueShares,
  getQueues,
  groupJobs,
  latestRounds,
  QUEUE_REPORT_ROUTE,
  SHARES_ROUTE,
  type ApiQueue,
  type PoolRound,
} from "../api"
import { StateChip } from "../components/StateChip"
import { ShareChart, type Sample } from "../components/ShareChart"
import type { JobGroup, LookoutFilter } from "../model"
import { formatPercent } from "../format"
import { usePolled } from "../polling"
import { Link } from "../router"
import { useServed } from "../served"
import { stateCounts } from "../view"

const REFRESH_MS = 3000
const HISTORY_KEY = "lookout.queueHistory"
const HISTORY_SECONDS = 15 * 60

interface QueueRow {
  name: string
  queue?: ApiQueue
  counts: Record<string, number>
  pools: { pool: string; queued: number; running: number }[]
}

const ACTIVE_FILTER: LookoutFilter = {
  field: "state",
  value: ["QUEUED", "LEASED", "PENDING", "RUNNING"],
  match: "anyOf",
  isAnnotation: false,
}

async function loadQueues(signal: AbortSignal): Promise<QueueRow[]> {
  const [queues, byQueue] = await Promise.all([
    getQueues(signal),
    groupJobs([], { field: "queue", isAnnotation: false }, { field: "queue", direction: "ASC" }, 0, 500, signal),
  ])
  const counts = new Map<string, JobGroup>(byQueue.groups.map((g) => [g.name, g]))
  const names = [...new Set([...queues.map((q) => q.name), ...counts.keys()])].sort()
  const rows = await Promise.all(
    names.map(async (name): Promise<QueueRow> => {
      const group = counts.get(name)
      const active = group
        ? Object.keys(stateCounts(group.aggregates)).some((s) => ["QUEUED", "LEASED", "PENDING", "RUNNING"].includes(s))
        : false
      let pools: QueueRow["pools"] = []
      if (active) {
        const queueFilter: LookoutFilter = { field: "queue", value: name, match: "exact", isAnnotation: false }
        const byPool = await groupJobs(
          [queueFilter, ACTIVE_FILTER],
          { field: "pool", isAnnotation: false },
          { field: "pool", direction: "ASC" },
          0,
          100,
          signal,
        )
        pools = byPool.groups.map((g) => {
          const c = stateCounts(g.aggregates)
          return { pool: g.name, queued: c.QUEUED ?? 0, running: (c.RUNNING ?? 0) + (c.PENDING ?? 0) + (c.LEASED ?? 0) }
        })
      }
      return {
        name,
        queue: queues.find((q) => q.name === name),
        counts: group ? stateCounts(group.aggregates) : {},
        pools,
      }
    }),
  )
  return rows
}

function readHistory(): Sample[] {
  try {
    const raw = window.sessionStorage.getItem(HISTORY_KEY)
    return raw ? (JSON.parse(raw) as Sample[]) : []
  } catch {
    return []
  }
}

export function QueuesPage() {
  const polled = usePolled(loadQueues, "queues", REFRESH_MS)
  const [history, setHistory] = useState<Sample[]>(readHistory)
  const rows = polled.data ?? []
  const reports = useServed(QUEUE_REPORT_ROUTE)
  const shares = useServed(SHARES_ROUTE)

  useEffect(() => {
    document.title = "Queues · Lookout"
  }, [])

  useEffect(() => {
    if (!polled.data) return
    const now = Date.now()
    const sample: Sample = {
      time: now,
      values: Object.fromEntries(polled.data.map((r) => [r.name, r.counts.RUNNING ?? 0])),
    }
    setHistory((current) => {
      const next = [...current.filter((s) => s.time > now - HISTORY_SECONDS * 1000), sample]
      window.sessionStorage.setItem(HISTORY_KEY, JSON.stringify(next))
      return next
    })
  }, [polled.data])

  return (
    <main className="page queues-page">
      <div className="page-head">
        <h1>Queues</h1>
      </div>
      {polled.error && (
        <p className="error" role="alert">
          Could not load the queues: {polled.error}
        </p>
      )}
      <div className="table-block">
        <table className="queues" aria-label="Queues">
          <thead>
            <tr>
              <th>Queue</th>
              <th className="num">Priority factor</th>
              <th className="num">Queued</th>
              <th className="num">Running</th>
              <th>Per pool (queued / running)</th>
              <th>Jobs by state</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.name} data-queue={row.name}>
                <td>
                  <Link href={`/jobs?queue=${encodeURIComponent(row.name)}&groupBy=jobSet`}>{row.name}</Link>
                  {row.queue?.cordoned && <span className="hint"> (cordoned)</span>}
                </td>
                <td className="num">{row.queue?.priorityFactor ?? "–"}</td>
                <td className="num">{row.counts.QUEUED ?? 0}</td>
                <td className="num">{row.counts.RUNNING ?? 0}</td>
                <td>
                  {row.pools.length === 0
                    ? "–"
                    : row.pools.map((p) => (
                        <span key={p.pool} className="pool">
                          {p.pool || "(not leased)"}: {p.queued} / {p.running}
                        </span>
                      ))}
                </td>
                <td className="chips">
                  {Object.entries(row.counts).map(([state, count]) => (
                    <StateChip key={state} state={state} count={count} />
                  ))}
                </td>
              </tr>
            ))}
            {polled.data && rows.length === 0 && (
              <tr>
                <td colSpan={6} className="empty">
                  No queue yet: create one with <code>armadactl create queue NAME</code>.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {shares && <Shares />}
      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Running jobs per queue, recent past</h2>
        <ShareChart samples={history} label="Running jobs per queue" />
      </section>
      <section aria-labelledby="reports-title">
        <h2 id="reports-title">The scheduler's last rounds, in words</h2>
        {reports === false && <p className="hint">This server does not serve scheduling reports.</p>}
        {reports && rows.map((row) => <QueueReport key={row.name} queue={row.name} />)}
      </section>
    </main>
  )
}

function QueueReport({ queue }: { queue: string }) {
  const report = usePolled((signal) => getQueueSchedulingReport(queue, signal), queue, REFRESH_MS * 2)
  return (
    <details className="queue-report" open>
      <summary>{queue}</summary>
      {report.error ? (
        <p className="hint">{report.error}</p>
      ) : (
        <pre className="report">{report.data ?? "Loading…"}</pre>
      )}
    </details>
  )
}

/** Each queue's share of each pool in the newest round, and the actual shares over the rounds
 * the scheduler keeps. */
function Shares() {
  const polled = usePolled(getQueueShares, "shares", REFRESH_MS)
  const rounds = polled.data ?? []
  return (
    <section aria-labelledby="shares-title">
      <h2 id="shares-title">Fair share</h2>
      {polled.error && <p className="error">Could not load the shares: {polled.error}</p>}
      {polled.data && rounds.length === 0 && <p className="hint">No scheduling round has run yet.</p>}
      {latestRounds(rounds).map((round) => (
        <SharesTable key={round.pool} round={round} />
      ))}
      {latestRounds(rounds).map((round) => (
        <div key={round.pool}>
          <h3>Actual share over the recent rounds, pool {round.pool}</h3>
          <ShareChart
            samples={shareSamples(rounds, round.pool)}
            label={`Actual share (%) per queue in pool ${round.pool}`}
          />
        </div>
      ))}
    </section>
  )
}

function shareSamples(rounds: PoolRound[], pool: string): Sample[] {
  return rounds
    .filter((r) => r.pool === pool)
    .map((r) => ({
      time: Date.parse(r.started),
      values: Object.fromEntries(r.queues.map((q) => [q.queue, Math.round(q.actualShare * 1000) / 10])),
    }))
}

function SharesTable({ round }: { round: PoolRound }) {
  return (
    <table className="shares" aria-label={`Fair share in pool ${round.pool}`}>
      <caption>
        Pool {round.pool}, round {round.cycle}
      </caption>
      <thead>
        <tr>
          <th>Queue</th>
          <th className="num">Fair share</th>
          <th className="num">Adjusted fair share</th>
          <th className="num">Actual share</th>
          <th className="num">Demand</th>
          <th className="num">Queued</th>
          <th className="num">Running</th>
        </tr>
      </thead>
      <tbody>
        {round.queues.map((q) => (
          <tr key={q.queue} data-queue={q.queue}>
            <td>{q.queue}</td>
            <td className="num">{formatPercent(q.fairShare)}</td>
            <td className="num">{formatPercent(q.adjustedFairShare)}</td>
            <td className="num">{formatPercent(q.actualShare)}</td>
            <td className="num">{formatPercent(q.demandShare)}</td>
            <td className="num">{q.queuedJobs}</td>
            <td className="num">{q.runningJobs}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
