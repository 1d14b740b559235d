// One job: its details, every run, its events, its spec, its container log (followed while it
// runs) and, while it waits, why the scheduler has not run it.

import { useCallback, useEffect, useRef, useState } from "react"

import {
  getJob,
  getJobError,
  getJobEvents,
  getJobRunError,
  getJobSchedulingReport,
  getJobSpec,
  getLog,
  jobsOfJobSet,
  JOB_REPORT_ROUTE,
  LOG_ROUTE,
  type LogLine,
} from "../api"
import { ActionDialog, type Action } from "../components/ActionDialog"
import { StateChip } from "../components/StateChip"
import { formatBytes, formatCpu, formatDuration, formatTime, stateLabel } from "../format"
import { ACTIVE_STATES, type Job, type Run } from "../model"
import { usePolled } from "../polling"
import { Link } from "../router"
import { useServed } from "../served"

const REFRESH_MS = 2000

export function JobPage({ jobId }: { jobId: string }) {
  const [token, setToken] = useState(0)
  const job = usePolled((signal) => getJob(jobId, signal), `${jobId}/${token}`, REFRESH_MS)
  const [action, setAction] = useState<Action | undefined>()
  const data = job.data
  const active = data ? ACTIVE_STATES.has(data.state) : false

  useEffect(() => {
    document.title = `Job ${jobId} · Lookout`
  }, [jobId])

  const closeAction = useCallback((changed: boolean) => {
    setAction(undefined)
    if (changed) setToken((t) => t + 1)
  }, [])

  if (job.error && !data) {
    return (
      <main className="page">
        <p className="error" role="alert">
          Could not load job {jobId}: {job.error}
        </p>
      </main>
    )
  }
  if (!data) {
    return (
      <main className="page">
        <p>{job.loading ? "Loading…" : `There is no job ${jobId}.`}</p>
      </main>
    )
  }
  const ref = { jobId: data.jobId, queue: data.queue, jobSet: data.jobSet }
  const running = data.state === "RUNNING" || data.state === "PENDING" || data.state === "LEASED"
  return (
    <main className="page job-page">
      <nav className="crumbs" aria-label="Breadcrumbs">
        <Link href="/jobs">Jobs</Link> ›{" "}
        <Link href={`/jobs?queue=${encodeURIComponent(data.queue)}`}>{data.queue}</Link> ›{" "}
        <Link href={`/jobs?queue=${encodeURIComponent(data.queue)}&jobSet=${encodeURIComponent(data.jobSet)}`}>
          {data.jobSet}
        </Link>
      </nav>
      <div className="page-head">
        <h1>
          Job <span className="mono">{data.jobId}</span>
        </h1>
        <StateChip state={data.state} />
        <div className="actions" role="toolbar" aria-label="Actions on this job">
          <button
            type="button"
            disabled={!active}
            onClick={() => setAction({ kind: "cancel", jobs: [ref], skipped: 0 })}
          >
            Cancel job…
          </button>
          <button
            type="button"
            disabled={!active}
            onClick={() => setAction({ kind: "reprioritize", jobs: [ref], skipped: 0 })}
          >
            Reprioritise…
          </button>
          <button
            type="button"
            disabled={!running}
            onClick={() => setAction({ kind: "preempt", jobs: [ref], skipped: 0 })}
          >
            Preempt…
          </button>
        </div>
      </div>
      <JobSetActions queue={data.queue} jobSet={data.jobSet} onAction={setAction} />
      <Details job={data} />
      {data.state === "QUEUED" && <SchedulingReport jobId={data.jobId} />}
      <Runs job={data} />
      <ErrorText jobId={data.jobId} state={data.state} />
      <Timeline job={data} />
      <Log job={data} />
      <Spec jobId={data.jobId} />
      {action && <ActionDialog action={action} onClose={closeAction} />}
    </main>
  )
}

const RUNNING_STATES = ["LEASED", "PENDING", "RUNNING"]

/** Actions on the job's whole job set: each counts the jobs it will touch before it asks. */
function JobSetActions({
  queue,
  jobSet,
  onAction,
}: {
  queue: string
  jobSet: string
  onAction: (action: Action) => void
}) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>()
  // While the jobs are counted the buttons only say they are busy: a disabled button would
  // lose the focus, and the dialog could not give it back to the button that opened it.
  const open = async (kind: "cancelJobSet" | "reprioritize" | "preempt") => {
    if (busy) return
    setBusy(true)
    setError(undefined)
    try {
      const states = kind === "preempt" ? RUNNING_STATES : [...ACTIVE_STATES]
      const jobs = await jobsOfJobSet(queue, jobSet, states)
      if (kind === "cancelJobSet") onAction({ kind, queue, jobSet, active: jobs.length })
      else onAction({ kind, jobs, skipped: 0, jobSet })
    } catch (reason) {
      setError((reason as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div className="actions" role="toolbar" aria-label="Actions on the job set">
      <span className="hint">Job set:</span>
      <button type="button" aria-disabled={busy} onClick={() => open("cancelJobSet")}>
        Cancel job set…
      </button>
      <button type="button" aria-disabled={busy} onClick={() => open("reprioritize")}>
        Reprioritise job set…
      </button>
      <button type="button" aria-disabled={busy} onClick={() => open("preempt")}>
        Preempt job set…
      </button>
      {error && <span className="error">{error}</span>}
    </div>
  )
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children === "" || children === null || children === undefined ? "–" : children}</dd>
    </>
  )
}

function Details({ job }: { job: Job }) {
  const annotations = Object.entries(job.annotations ?? {})
  return (
    <section aria-labelledby="details-title">
      <h2 id="details-title">Details</h2>
      <dl className="fields">
        <Field label="Queue">{job.queue}</Field>
        <Field label="Job set">{job.jobSet}</Field>
        <Field label="Owner">{job.owner}</Field>
        <Field label="Namespace">{job.namespace}</Field>
        <Field label="Priority">{job.priority}</Field>
        <Field label="Priority class">{job.priorityClass}</Field>
        <Field label="Resources">
          {formatCpu(job.cpu)} CPU, {formatBytes(job.memory)} memory{job.gpu ? `, ${job.gpu} GPU` : ""}
          {job.ephemeralStorage ? `, ${formatBytes(job.ephemeralStorage)} ephemeral storage` : ""}
        </Field>
        <Field label="Submitted">{formatTime(job.submitted)}</Field>
        <Field label="Last change">{formatTime(job.lastTransitionTime)}</Field>
        <Field label="Runtime">{job.runtimeSeconds ? formatDuration(job.runtimeSeconds) : ""}</Field>
        {job.cancelled && (
          <Field label="Cancelled">{`${formatTime(job.cancelled)}${job.cancelUser ? ` by ${job.cancelUser}` : ""}${job.cancelReason ? `: ${job.cancelReason}` : ""}`}</Field>
        )}
        {annotations.length > 0 && (
          <Field label="Annotations">
            <ul className="plain">
              {annotations.map(([key, value]) => (
                <li key={key}>
                  <span className="mono">{key}</span>: {value}
                </li>
              ))}
            </ul>
          </Field>
        )}
      </dl>
    </section>
  )
}

function SchedulingReport({ jobId }: { jobId: string }) {
  const served = useServed(JOB_REPORT_ROUTE)
  return (
    <section aria-labelledby="scheduling-title">
      <h2 id="scheduling-title">Why is it not running?</h2>
      {served === false && <p className="hint">This server does not serve scheduling reports.</p>}
      {served && <SchedulingReportText jobId={jobId} />}
    </section>
  )
}

function SchedulingReportText({ jobId }: { jobId: string }) {
  const report = usePolled((signal) => getJobSchedulingReport(jobId, signal), jobId, 5000)
  if (report.error) return <p className="hint">No report yet: {report.error}</p>
  return <pre className="report">{report.data ?? "Loading…"}</pre>
}

function Runs({ job }: { job: Job }) {
  return (
    <section aria-labelledby="runs-title">
      <h2 id="runs-title">Runs</h2>
      {job.runs.length === 0 ? (
        <p className="hint">No run yet: the job has not been leased to a cluster.</p>
      ) : (
        <table className="runs">
          <thead>
            <tr>
              <th>Run</th>
              <th>State</th>
              <th>Cluster</th>
              <th>Node</th>
              <th>Pool</th>
              <th>Leased</th>
              <th>Started</th>
              <th>Finished</th>
              <th className="num">Exit code</th>
              <th>Failure</th>
            </tr>
          </thead>
          <tbody>
            {job.runs.map((run) => (
              <RunRow key={run.runId} run={run} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

function RunRow({ run }: { run: Run }) {
  const failed = run.jobRunState === "RUN_FAILED"
  const error = usePolled(
    (signal) => (failed ? getJobRunError(run.runId, signal) : Promise.resolve({ errorString: "" })),
    `${run.runId}/${failed}`,
    null,
  )
  const category = [run.failureCategory, run.failureSubcategory].filter(Boolean).join(" / ")
  return (
    <tr>
      <td className="mono">{run.runId}</td>
      <td>{stateLabel(run.jobRunState)}</td>
      <td>{run.cluster}</td>
      <td>{run.node ?? ""}</td>
      <td>{run.pool ?? ""}</td>
      <td>{formatTime(run.leased)}</td>
      <td>{formatTime(run.started)}</td>
      <td>{formatTime(run.finished)}</td>
      <td className="num">{run.exitCode ?? ""}</td>
      <td>
        {category && <b>{category}: </b>}
        {error.data?.errorString}
      </td>
    </tr>
  )
}

function ErrorText({ jobId, state }: { jobId: string; state: string }) {
  const ended = state === "FAILED" || state === "REJECTED"
  const error = usePolled(
    (signal) => (ended ? getJobError(jobId, signal) : Promise.resolve({ errorString: "" })),
    `${jobId}/${ended}`,
    null,
  )
  if (!error.data?.errorString) return null
  return (
    <section aria-labelledby="error-title">
      <h2 id="error-title">Error</h2>
      <pre className="report">{error.data.errorString}</pre>
    </section>
  )
}

const SHOWN_ELSEWHERE = new Set(["type", "job_id"])

/** The event's fields in one line (the job id and the type are shown already). */
function describeEvent(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([key, value]) => !SHOWN_ELSEWHERE.has(key) && value !== null && value !== "" && value !== undefined)
    .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
    .join(" · ")
}

function Timeline({ job }: { job: Job }) {
  const active = ACTIVE_STATES.has(job.state)
  const events = usePolled(
    (signal) => getJobEvents(job.jobId, signal),
    `${job.jobId}/${job.state}`,
    active ? REFRESH_MS : null,
  )
  return (
    <section aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      {events.error && <p className="error">Could not load the events: {events.error}</p>}
      <ol className="timeline">
        {(events.data ?? []).map((event) => (
          <li key={event.id} data-event={event.type}>
            <time>{formatTime(event.created)}</time> <b>{event.type}</b>{" "}
            <span className="who">
              by {event.user} ({event.cause})
            </span>{" "}
            <span className="hint">{describeEvent(event.details)}</span>
          </li>
        ))}
      </ol>
    </section>
  )
}

function Log({ job }: { job: Job }) {
  const served = useServed(LOG_ROUTE)
  const hasRun = job.runs.some((run) => run.started)
  return (
    <section aria-labelledby="log-title">
      {served === false && (
        <>
          <h2 id="log-title">Log</h2>
          <p className="hint">This server does not serve container logs.</p>
        </>
      )}
      {served && !hasRun && (
        <>
          <h2 id="log-title">Log</h2>
          <p className="hint">No log: the job has not started.</p>
        </>
      )}
      {served && hasRun && <LogLines job={job} />}
    </section>
  )
}

/** Whether the job's pod goes away as it reaches ``state`` (Armada deletes it on cancel and preempt). */
function podGoneWith(state: string): boolean {
  return state === "CANCELLED" || state === "PREEMPTED"
}

function LogLines({ job }: { job: Job }) {
  const following = job.state === "RUNNING"
  const [lines, setLines] = useState<LogLine[]>([])
  const [error, setError] = useState<string | undefined>()
  const [follow, setFollow] = useState(true)
  const box = useRef<HTMLPreElement>(null)
  const since = useRef("")

  useEffect(() => {
    since.current = ""
    setLines([])
  }, [job.jobId])

  useEffect(() => {
    let stopped = false
    const controller = new AbortController()
    const fetchMore = async () => {
      try {
        const more = await getLog(job.jobId, job.namespace ?? "default", since.current, controller.signal)
        if (stopped) return
        // Lines at the since-time itself were read last time.
        const fresh = since.current ? more.filter((line) => line.timestamp > since.current) : more
        if (fresh.length > 0) {
          since.current = fresh[fresh.length - 1].timestamp
          setLines((current) => [...current, ...fresh])
        }
        setError(undefined)
      } catch (reason) {
        if (!stopped) setError((reason as Error).message)
      }
    }
    // A cancelled or preempted job's pod is deleted with it: once it stops running for one of
    // those, asking for the rest of its log would only be refused (404).
    if (following || !podGoneWith(job.state)) void fetchMore()
    const timer = following ? window.setInterval(fetchMore, REFRESH_MS) : undefined
    return () => {
      stopped = true
      controller.abort()
      if (timer !== undefined) window.clearInterval(timer)
    }
  }, [job.jobId, job.namespace, following])

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight
  }, [lines, follow])

  return (
    <>
      <div className="section-head">
        <h2 id="log-title">Log</h2>
        {following && (
          <label>
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
          </label>
        )}
      </div>
      {error && <p className="hint">The log could not be read: {error}</p>}
      <pre className="log" ref={box} tabIndex={0} aria-label="Container log">
        {lines.length > 0
          ? lines.map((line) => line.line).join("\n")
          : !following && podGoneWith(job.state)
            ? `(none kept: the pod was deleted when the job was ${job.state.toLowerCase()})`
            : "(empty)"}
      </pre>
    </>
  )
}

function Spec({ jobId }: { jobId: string }) {
  const [open, setOpen] = useState(false)
  const spec = usePolled(
    (signal) => (open ? getJobSpec(jobId, signal) : Promise.resolve({ job: undefined })),
    `${jobId}/${open}`,
    null,
  )
  return (
    <section aria-labelledby="spec-title">
      <div className="section-head">
        <h2 id="spec-title">Spec</h2>
        <button type="button" aria-expanded={open} onClick={() => setOpen((v) => !v)}>
          {open ? "Hide" : "Show"}
        </button>
      </div>
      {open &&
        (spec.error ? (
          <p className="error">{spec.error}</p>
        ) : (
          <pre className="report spec">{JSON.stringify(spec.data?.job ?? {}, null, 2)}</pre>
        ))}
    </section>
  )
}
