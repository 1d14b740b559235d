// The shapes of Armada's Lookout v2 API (internal/lookout/swagger.yaml) that the UI reads.

export const JOB_STATES = [
  "QUEUED",
  "LEASED",
  "PENDING",
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
  "PREEMPTED",
  "REJECTED",
] as const
export type JobState = (typeof JOB_STATES)[number]

export const ACTIVE_STATES: ReadonlySet<string> = new Set(["QUEUED", "LEASED", "PENDING", "RUNNING"])

export type MatchType =
  | "exact"
  | "anyOf"
  | "startsWith"
  | "contains"
  | "greaterThan"
  | "lessThan"
  | "greaterThanOrEqualTo"
  | "lessThanOrEqualTo"
  | "exists"

export interface LookoutFilter {
  field: string
  value: unknown
  match: MatchType
  isAnnotation: boolean
}

export interface LookoutOrder {
  field: string
  direction: "ASC" | "DESC"
}

export interface Run {
  runId: string
  cluster: string
  node?: string | null
  leased?: string | null
  pending?: string | null
  started?: string | null
  finished?: string | null
  jobRunState: string
  exitCode?: number | null
  pool?: string | null
  failureCategory?: string
  failureSubcategory?: string
}

export interface Job {
  jobId: string
  queue: string
  owner: string
  namespace?: string | null
  jobSet: string
  cpu: number
  memory: number
  ephemeralStorage: number
  gpu: number
  priority: number
  priorityClass?: string | null
  submitted: string
  cancelled?: string | null
  state: JobState
  lastTransitionTime: string
  lastActiveRunId?: string | null
  duplicate: boolean
  annotations: Record<string, string>
  runs: Run[]
  cancelReason?: string | null
  cancelUser?: string | null
  node?: string | null
  cluster: string
  pool?: string | null
  exitCode?: number | null
  runtimeSeconds: number
}

export interface JobGroup {
  name: string
  count: number
  aggregates: Record<string, unknown>
}
