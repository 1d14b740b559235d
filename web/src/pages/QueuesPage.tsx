// The queues: each queue's active jobs, its share of each pool in the scheduler's newest round
// (fair share, adjusted fair share, actual share, demand, queued and running jobs), charts of
// the shares over the recent rounds, and the scheduler's queue report in words.

import { useEffect } from "react"

import { getQueueFigures, getQueueSchedulingReport, QUEUE_REPORT_ROUTE, shareSeries, type QueueFigures } from "../api"
import { ShareChart } from "../components/ShareChart"
import { StateChip } from "../components/StateChip"
import { formatPercent } from "../format"
import { usePolled } from "../polling"
import { Link } from "../router"
import { useServed } from "../served"

const REFRESH_MS = 3000

export function QueuesPage() {
  const polled = usePolled(getQueueFigures, "queues", REFRESH_MS)
  const reports = useServed(QUEUE_REPORT_ROUTE)
  const queues = polled.data?.queues ?? []
  const series = shareSeries(polled.data?.history ?? [], "actualShare")
  // Why the scheduler's figures are not fresh: its reports are then not asked for either.
  const schedulerProblem = polled.data?.schedulerProblem ?? ""

  useEffect(() => {
    document.title = "Queues · Lookout"
  }, [])

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
              <th>Active jobs</th>
              <th>Pool</th>
              <th className="num">Fair share</th>
              <th className="num">Adjusted fair share</th>
              <th className="num">Actual share</th>
              <th className="num">Demand</th>
              <th className="num">Queued</th>
              <th className="num">Running</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((queue) => (
              <QueueRows key={queue.name} queue={queue} />
            ))}
            {polled.data && queues.length === 0 && (
              <tr>
                <td colSpan={10} className="empty">
                  No queue yet: create one with <code>armadactl create queue NAME</code>.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {polled.data && polled.data.schedulerProblem && (
        <p className="hint" role="status">
          The shares come from the scheduler's rounds, and {polled.data.schedulerProblem}.
        </p>
      )}
      <section aria-labelledby="chart-title">
        <h2 id="chart-title">Actual share per queue over the recent rounds</h2>
        {series.size === 0 && <p className="hint">No scheduling round yet.</p>}
        {[...series].map(([pool, samples]) => (
          <div key={pool}>
            <h3>Pool {pool} (% of the pool)</h3>
            <ShareChart samples={samples} label={`Actual share (%) per queue in pool ${pool}`} />
          </div>
        ))}
      </section>
      <section aria-labelledby="reports-title">
        <h2 id="reports-title">The scheduler's last rounds, in words</h2>
        {reports === false && <p className="hint">This server does not serve scheduling reports.</p>}
        {reports && schedulerProblem && <p className="hint">Not now: {schedulerProblem}.</p>}
        {reports && !schedulerProblem && queues.map((queue) => <QueueReport key={queue.name} queue={queue.name} />)}
      </section>
    </main>
  )
}

/** One row per pool the queue had figures in (one row when none). */
function QueueRows({ queue }: { queue: QueueFigures }) {
  const pools = queue.pools.length > 0 ? queue.pools : [undefined]
  return (
    <>
      {pools.map((pool, index) => (
        <tr key={pool?.pool ?? ""} data-queue={queue.name} data-pool={pool?.pool}>
          {index === 0 && (
            <>
              <td rowSpan={pools.length}>
                <Link href={`/jobs?queue=${encodeURIComponent(queue.name)}&groupBy=jobSet`}>{queue.name}</Link>
                {queue.cordoned && <span className="hint"> (cordoned)</span>}
              </td>
              <td rowSpan={pools.length} className="num">
                {queue.priorityFactor}
              </td>
              <td rowSpan={pools.length} className="chips">
                {Object.entries(queue.jobCounts).map(([state, count]) => (
                  <StateChip key={state} state={state} count={count} />
                ))}
              </td>
            </>
          )}
          <td>{pool?.pool ?? "–"}</td>
          <td className="num">{formatPercent(pool?.fairShare)}</td>
          <td className="num">{formatPercent(pool?.adjustedFairShare)}</td>
          <td className="num">{formatPercent(pool?.actualShare)}</td>
          <td className="num">{formatPercent(pool?.demand)}</td>
          <td className="num">{pool?.queuedJobs ?? "–"}</td>
          <td className="num">{pool?.runningJobs ?? "–"}</td>
        </tr>
      ))}
    </>
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
