// Every request the UI makes: the Lookout v2 API (/api/v1/...) and Armada's REST gateway
// (/v1/...), with the request and response shapes Armada documents. Nothing else.

import type { Job, JobGroup, LookoutFilter, LookoutOrder } from "./model"

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  })
  return parse<T>(response)
}

async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  return parse<T>(await fetch(path, { signal }))
}

async function parse<T>(response: Response): Promise<T> {
  const text = await response.text()
  if (!response.ok) throw new ApiError(response.status, errorText(text) || response.statusText)
  return (text ? JSON.parse(text) : {}) as T
}

function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown }
    const message = body.error ?? body.message
    if (typeof message === "string") return message
  } catch {
    // not JSON: the text is the message
  }
  return text.trim()
}

// ---- Lookout v2 API ----

export function getJobs(
  filters: LookoutFilter[],
  order: LookoutOrder,
  skip: number,
  take: number,
  signal?: AbortSignal,
): Promise<{ jobs: Job[] }> {
  return post("/api/v1/jobs", { filters, order, activeJobSets: false, skip, take }, signal)
}

export async function getJob(jobId: string, signal?: AbortSignal): Promise<Job | undefined> {
  const filter: LookoutFilter = { field: "jobId", value: jobId, match: "exact", isAnnotation: false }
  const { jobs } = await getJobs([filter], { field: "jobId", direction: "ASC" }, 0, 1, signal)
  return jobs[0]
}

export function groupJobs(
  filters: LookoutFilter[],
  groupedField: { field: string; isAnnotation: boolean },
  order: LookoutOrder,
  skip: number,
  take: number,
  signal?: AbortSignal,
): Promise<{ groups: JobGroup[] }> {
  return post(
    "/api/v1/jobGroups",
    { filters, order, activeJobSets: false, groupedField, aggregates: ["state"], skip, take },
    signal,
  )
}

export function getJobSpec(jobId: string, signal?: AbortSignal): Promise<{ job?: Record<string, unknown> }> {
  return post("/api/v1/jobSpec", { jobId }, signal)
}

export function getJobError(jobId: string, signal?: AbortSignal): Promise<{ errorString?: string }> {
  return post("/api/v1/jobError", { jobId }, signal)
}

export function getJobRunError(runId: string, signal?: AbortSignal): Promise<{ errorString?: string }> {
  return post("/api/v1/jobRunError", { runId }, signal)
}

export function getJobRunDebugMessage(runId: string, signal?: AbortSignal): Promise<{ errorString?: string }> {
  return post("/api/v1/jobRunDebugMessage", { runId }, signal)
}

// ---- REST gateway (protobuf JSON names) ----

export interface JobRef {
  jobId: string
  queue: string
  jobSet: string
}

/** Jobs of one call: the gateway's job actions take one queue and one job set at a time. */
export function byJobSet(jobs: JobRef[]): { queue: string; jobSetId: string; jobIds: string[] }[] {
  const sets = new Map<string, { queue: string; jobSetId: string; jobIds: string[] }>()
  for (const job of jobs) {
    const key = JSON.stringify([job.queue, job.jobSet])
    let entry = sets.get(key)
    if (!entry) {
      entry = { queue: job.queue, jobSetId: job.jobSet, jobIds: [] }
      sets.set(key, entry)
    }
    entry.jobIds.push(job.jobId)
  }
  return [...sets.values()]
}

export interface ActionOutcome {
  done: number
  failures: string[]
}

async function perJobSet(
  jobs: JobRef[],
  call: (set: { queue: string; jobSetId: string; jobIds: string[] }) => Promise<number>,
): Promise<ActionOutcome> {
  const outcome: ActionOutcome = { done: 0, failures: [] }
  for (const set of byJobSet(jobs)) {
    try {
      outcome.done += await call(set)
    } catch (error) {
      outcome.failures.push(`${set.queue}/${set.jobSetId}: ${(error as Error).message}`)
    }
  }
  return outcome
}

export function cancelJobs(jobs: JobRef[], reason: string): Promise<ActionOutcome> {
  return perJobSet(jobs, async (set) => {
    const reply = await post<{ cancelledIds?: string[] }>("/v1/job/cancel", { ...set, reason })
    return reply.cancelledIds?.length ?? set.jobIds.length
  })
}

export function reprioritizeJobs(jobs: JobRef[], newPriority: number): Promise<ActionOutcome> {
  return perJobSet(jobs, async (set) => {
    const reply = await post<{ reprioritizationResults?: Record<string, string> }>("/v1/job/reprioritize", {
      ...set,
      newPriority,
    })
    const failed = Object.values(reply.reprioritizationResults ?? {}).filter((error) => error !== "")
    return set.jobIds.length - failed.length
  })
}

export function preemptJobs(jobs: JobRef[], reason: string): Promise<ActionOutcome> {
  return perJobSet(jobs, async (set) => {
    await post("/v1/job/preempt", { ...set, reason })
    return set.jobIds.length
  })
}

export async function cancelJobSet(queue: string, jobSetId: string, reason: string): Promise<void> {
  await post("/v1/jobset/cancel", { queue, jobSetId, reason })
}

/** One event of a job, as the log tells it: when, who, what caused it, and its fields. */
export interface JobEvent {
  id: string
  type: string
  created: string
  user: string
  cause: string
  details: Record<string, unknown>
}

/** POST /api/armada/jobEvents: the job's history, oldest first. */
export async function getJobEvents(jobId: string, signal?: AbortSignal): Promise<JobEvent[]> {
  const reply = await post<{ events?: JobEvent[] }>("/api/armada/jobEvents", { jobId }, signal)
  return reply.events ?? []
}

export interface LogLine {
  timestamp: string
  line: string
}

/** POST /v1/binoculars/log: the job's container log since ``sinceTime`` (all of it when empty). */
export async function getLog(
  jobId: string,
  namespace: string,
  sinceTime: string,
  signal?: AbortSignal,
): Promise<LogLine[]> {
  const reply = await post<{ log?: { timestamp?: string; line?: string }[] }>(
    "/v1/binoculars/log",
    { jobId, podNumber: 0, podNamespace: namespace, sinceTime, logOptions: {} },
    signal,
  )
  return (reply.log ?? []).map((line) => ({ timestamp: line.timestamp ?? "", line: line.line ?? "" }))
}

/** GET /v1/job/{jobId}/scheduler-report: why the scheduler did (not) run the job, in words. */
export async function getJobSchedulingReport(jobId: string, signal?: AbortSignal): Promise<string> {
  const reply = await get<{ report?: string }>(`/v1/job/${encodeURIComponent(jobId)}/scheduler-report`, signal)
  return reply.report ?? ""
}

/** GET /v1/queue/{queue}/scheduler-report: the queue's fair share and demand in the last rounds. */
export async function getQueueSchedulingReport(queue: string, signal?: AbortSignal): Promise<string> {
  const reply = await get<{ report?: string }>(`/v1/queue/${encodeURIComponent(queue)}/scheduler-report`, signal)
  return reply.report ?? ""
}

// ---- Which optional routes this server serves ----
// Container logs and scheduling reports are served where the components behind them run
// (armada dev has them all; a lone `armada lookout` may not). The UI asks the server's OpenAPI
// document (/api/openapi.json) once, and offers only what it lists, so that it never calls a
// route that is not there.

let servedRoutes: Promise<Set<string>> | undefined

/** "POST /v1/job/{}/scheduler-report": a route with its path parameters' names left out. */
export function routeKey(verb: string, path: string): string {
  return `${verb.toUpperCase()} ${path.replace(/\{[^}]*\}/g, "{}")}`
}

export function routesOf(document: { paths?: Record<string, Record<string, unknown>> }): Set<string> {
  const routes = new Set<string>()
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const verb of Object.keys(operations ?? {})) routes.add(routeKey(verb, path))
  }
  return routes
}

export function serves(verb: string, path: string): Promise<boolean> {
  servedRoutes ??= get<{ paths?: Record<string, Record<string, unknown>> }>("/api/openapi.json")
    .then(routesOf)
    .catch(() => new Set<string>())
  return servedRoutes.then((routes) => routes.has(routeKey(verb, path)))
}

export const LOG_ROUTE = ["POST", "/v1/binoculars/log"] as const
export const JOB_REPORT_ROUTE = ["GET", "/v1/job/{jobId}/scheduler-report"] as const
export const QUEUE_REPORT_ROUTE = ["GET", "/v1/queue/{queueName}/scheduler-report"] as const

/** A queue's figures in one pool in one scheduling round (shares are fractions of the pool). */
export interface PoolFigures {
  pool: string
  time: string
  fairShare: number
  adjustedFairShare: number
  actualShare: number
  demand: number
  queuedJobs: number
  runningJobs: number
}

export interface QueueFigures {
  name: string
  priorityFactor: number
  cordoned: boolean
  labels: Record<string, string>
  jobCounts: Record<string, number> // the active states only
  pools: PoolFigures[] // in each pool's newest round
}

export interface QueuesReply {
  schedulerInProcess: boolean
  schedulerProblem: string // why there are no fresh shares ("" when there are)
  queues: QueueFigures[]
  history: (PoolFigures & { queue: string; cycle: number })[]
}

/** GET /api/armada/queues: every queue, its active jobs, and its shares in the scheduler's
 * recent rounds (from the scheduler in the serving process, or polled from its reports API). */
export async function getQueueFigures(signal?: AbortSignal): Promise<QueuesReply> {
  const reply = await get<Partial<QueuesReply>>("/api/armada/queues", signal)
  return {
    schedulerInProcess: reply.schedulerInProcess ?? false,
    schedulerProblem: reply.schedulerProblem ?? "",
    queues: reply.queues ?? [],
    history: reply.history ?? [],
  }
}

/** One chart's samples per pool: a queue's ``figure`` (as a percentage) in each round. */
export function shareSeries(
  history: QueuesReply["history"],
  figure: "actualShare" | "fairShare" | "adjustedFairShare" | "demand",
): Map<string, { time: number; values: Record<string, number> }[]> {
  const byPool = new Map<string, Map<number, { time: number; values: Record<string, number> }>>()
  for (const point of history) {
    let rounds = byPool.get(point.pool)
    if (!rounds) {
      rounds = new Map()
      byPool.set(point.pool, rounds)
    }
    let round = rounds.get(point.cycle)
    if (!round) {
      round = { time: Date.parse(point.time), values: {} }
      rounds.set(point.cycle, round)
    }
    round.values[point.queue] = Math.round(point[figure] * 1000) / 10
  }
  const series = new Map<string, { time: number; values: Record<string, number> }[]>()
  for (const [pool, rounds] of [...byPool].sort(([a], [b]) => a.localeCompare(b))) {
    series.set(
      pool,
      [...rounds.values()].sort((a, b) => a.time - b.time),
    )
  }
  return series
}

/** The jobs of one job set in some states (at most ``limit``), for an action on all of them. */
export async function jobsOfJobSet(queue: string, jobSet: string, states: string[], limit = 10_000): Promise<JobRef[]> {
  const filters: LookoutFilter[] = [
    { field: "queue", value: queue, match: "exact", isAnnotation: false },
    { field: "jobSet", value: jobSet, match: "exact", isAnnotation: false },
    { field: "state", value: states, match: "anyOf", isAnnotation: false },
  ]
  const { jobs } = await getJobs(filters, { field: "jobId", direction: "ASC" }, 0, limit)
  return jobs.map((job) => ({ jobId: job.jobId, queue: job.queue, jobSet: job.jobSet }))
}
