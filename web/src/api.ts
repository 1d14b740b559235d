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

export interface ApiQueue {
  name: string
  priorityFactor?: number
  cordoned?: boolean
  labels?: Record<string, string>
}

/** GET /v1/batched/queues: one JSON object a line, each {"result": {"Event": {"queue": ...}}}
 * as Armada's gateway writes it, or {"result": {"queue": ...}} (the oneof without its name). */
export async function getQueues(signal?: AbortSignal): Promise<ApiQueue[]> {
  const response = await fetch("/v1/batched/queues", { signal })
  const text = await response.text()
  if (!response.ok) throw new ApiError(response.status, errorText(text) || response.statusText)
  return parseQueueStream(text)
}

export function parseQueueStream(text: string): ApiQueue[] {
  const queues: ApiQueue[] = []
  for (const line of text.split("\n")) {
    if (!line.trim()) continue
    const message = JSON.parse(line) as { result?: { Event?: { queue?: ApiQueue }; queue?: ApiQueue }; error?: unknown }
    if (message.error)
      throw new Error(typeof message.error === "string" ? message.error : JSON.stringify(message.error))
    const queue = message.result?.Event?.queue ?? message.result?.queue
    if (queue) queues.push(queue)
  }
  return queues
}

export interface JobSetEvent {
  id: string
  kind: string
  created?: string
  detail: Record<string, unknown>
}

/** The events of one job, read from its job set's stream (POST /v1/job-set/{queue}/{id}, not
 * watching: it ends at the last event stored). One JSON object a line, {"result": message}. */
export async function getJobEvents(
  queue: string,
  jobSetId: string,
  jobId: string,
  signal?: AbortSignal,
): Promise<JobSetEvent[]> {
  const path = `/v1/job-set/${encodeURIComponent(queue)}/${encodeURIComponent(jobSetId)}`
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ queue, id: jobSetId, watch: false }),
    signal,
  })
  const text = await response.text()
  if (!response.ok) throw new ApiError(response.status, errorText(text) || response.statusText)
  return parseEventStream(text, jobId)
}

export function parseEventStream(text: string, jobId: string): JobSetEvent[] {
  const events: JobSetEvent[] = []
  for (const line of text.split("\n")) {
    if (!line.trim()) continue
    const parsed = JSON.parse(line) as {
      result?: { id?: string; message?: Record<string, Record<string, unknown>> }
      error?: unknown
    }
    if (parsed.error) throw new Error(typeof parsed.error === "string" ? parsed.error : JSON.stringify(parsed.error))
    const message = parsed.result?.message ?? {}
    for (const [kind, detail] of Object.entries(message)) {
      if (!detail || typeof detail !== "object" || detail.jobId !== jobId) continue
      events.push({
        id: parsed.result?.id ?? "",
        kind,
        created: typeof detail.created === "string" ? detail.created : undefined,
        detail,
      })
    }
  }
  return events
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

/** One queue in one pool's scheduling round, as the scheduler saw it (shares are fractions of
 * the pool). */
export interface QueueShare {
  queue: string
  weight?: number
  fairShare: number
  adjustedFairShare: number
  actualShare: number
  demandShare: number
  cordoned?: boolean
  queuedJobs: number
  runningJobs: number
}

export interface PoolRound {
  pool: string
  cycle: number
  started: string // ISO 8601
  queues: QueueShare[]
}

/** The queues' fair-share figures of the rounds the scheduler keeps, oldest first (an extra
 * route of this project; offered only where /api/openapi.json lists it). */
export const SHARES_ROUTE = ["GET", "/api/armada/queues/shares"] as const

export async function getQueueShares(signal?: AbortSignal): Promise<PoolRound[]> {
  const reply = await get<{ rounds?: PoolRound[] }>(SHARES_ROUTE[1], signal)
  return reply.rounds ?? []
}

/** The newest round of each pool. */
export function latestRounds(rounds: PoolRound[]): PoolRound[] {
  const latest = new Map<string, PoolRound>()
  for (const round of rounds) {
    const seen = latest.get(round.pool)
    if (!seen || round.cycle >= seen.cycle) latest.set(round.pool, round)
  }
  return [...latest.values()].sort((a, b) => a.pool.localeCompare(b.pool))
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
