// What the jobs table shows (filters, order, grouping, columns, page), kept in the URL so a
// view can be shared, and turned into Lookout v2 API requests. Pure: no DOM, no fetch.

import { JOB_STATES, type LookoutFilter, type LookoutOrder } from "./model"

export const TEXT_FILTERS = ["queue", "jobSet", "jobId", "owner", "priorityClass", "namespace"] as const
export type TextFilter = (typeof TEXT_FILTERS)[number]

export type GroupBy =
  { kind: "none" } | { kind: "field"; field: "queue" | "jobSet" | "state" } | { kind: "annotation"; key: string }

export interface JobsView {
  text: Partial<Record<TextFilter, string>>
  states: string[]
  annotations: Record<string, string> // key -> value prefix ("" means: the key exists)
  submittedFrom?: string // ISO 8601
  submittedTo?: string
  order: LookoutOrder
  groupBy: GroupBy
  columns: string[]
  page: number
}

export const ALL_COLUMNS = [
  "jobId",
  "queue",
  "jobSet",
  "state",
  "priority",
  "owner",
  "namespace",
  "priorityClass",
  "cpu",
  "memory",
  "gpu",
  "submitted",
  "lastTransitionTime",
  "cluster",
  "node",
  "pool",
  "exitCode",
  "runtimeSeconds",
] as const

export const DEFAULT_COLUMNS = ["jobId", "queue", "jobSet", "state", "priority", "owner", "submitted", "cluster"]
export const DEFAULT_ORDER: LookoutOrder = { field: "submitted", direction: "DESC" }
export const SORTABLE_FIELDS = new Set([
  "jobId",
  "jobSet",
  "submitted",
  "lastTransitionTime",
  "queue",
  "state",
  "priority",
])
export const PAGE_SIZE = 50

export function defaultView(): JobsView {
  return {
    text: {},
    states: [],
    annotations: {},
    order: { ...DEFAULT_ORDER },
    groupBy: { kind: "none" },
    columns: [...DEFAULT_COLUMNS],
    page: 0,
  }
}

const ANNOTATION_PREFIX = "ann."

/** Reads a view from a URL query string; what it does not understand is left out. */
export function viewFromSearch(search: string): JobsView {
  const params = new URLSearchParams(search)
  const view = defaultView()
  for (const name of TEXT_FILTERS) {
    const value = params.get(name)
    if (value) view.text[name] = value
  }
  const states = params.get("state")
  if (states) {
    const known = new Set<string>(JOB_STATES)
    view.states = states
      .split(",")
      .map((s) => s.trim().toUpperCase())
      .filter((s) => known.has(s))
  }
  for (const [name, value] of params) {
    if (name.startsWith(ANNOTATION_PREFIX) && name.length > ANNOTATION_PREFIX.length) {
      view.annotations[name.slice(ANNOTATION_PREFIX.length)] = value
    }
  }
  const from = params.get("submittedFrom")
  if (from && isDate(from)) view.submittedFrom = from
  const to = params.get("submittedTo")
  if (to && isDate(to)) view.submittedTo = to
  const sort = params.get("sort")
  if (sort) {
    const [field, direction] = sort.split(":")
    if (SORTABLE_FIELDS.has(field)) {
      view.order = { field, direction: direction?.toLowerCase() === "asc" ? "ASC" : "DESC" }
    }
  }
  view.groupBy = parseGroupBy(params.get("groupBy"))
  const cols = params.get("cols")
  if (cols) {
    const known = new Set<string>(ALL_COLUMNS)
    const chosen = cols.split(",").filter((c) => known.has(c) || c.startsWith(ANNOTATION_PREFIX))
    if (chosen.length > 0) view.columns = chosen
  }
  const page = Number.parseInt(params.get("page") ?? "", 10)
  if (Number.isFinite(page) && page > 0) view.page = page
  return view
}

function parseGroupBy(value: string | null): GroupBy {
  if (value === "queue" || value === "jobSet" || value === "state") return { kind: "field", field: value }
  if (value?.startsWith(ANNOTATION_PREFIX) && value.length > ANNOTATION_PREFIX.length) {
    return { kind: "annotation", key: value.slice(ANNOTATION_PREFIX.length) }
  }
  return { kind: "none" }
}

export function groupByParam(groupBy: GroupBy): string | undefined {
  if (groupBy.kind === "field") return groupBy.field
  if (groupBy.kind === "annotation") return ANNOTATION_PREFIX + groupBy.key
  return undefined
}

function isDate(value: string): boolean {
  return !Number.isNaN(Date.parse(value))
}

/** The query string for a view: only what differs from the default, in a stable order. */
export function searchFromView(view: JobsView): string {
  const params = new URLSearchParams()
  for (const name of TEXT_FILTERS) {
    const value = view.text[name]
    if (value) params.set(name, value)
  }
  if (view.states.length > 0) params.set("state", view.states.join(","))
  for (const key of Object.keys(view.annotations).sort()) {
    params.set(ANNOTATION_PREFIX + key, view.annotations[key])
  }
  if (view.submittedFrom) params.set("submittedFrom", view.submittedFrom)
  if (view.submittedTo) params.set("submittedTo", view.submittedTo)
  if (view.order.field !== DEFAULT_ORDER.field || view.order.direction !== DEFAULT_ORDER.direction) {
    params.set("sort", `${view.order.field}:${view.order.direction.toLowerCase()}`)
  }
  const group = groupByParam(view.groupBy)
  if (group) params.set("groupBy", group)
  if (view.columns.join(",") !== DEFAULT_COLUMNS.join(",")) params.set("cols", view.columns.join(","))
  if (view.page > 0) params.set("page", String(view.page))
  const text = params.toString()
  return text ? `?${text}` : ""
}

/** The Lookout v2 filters a view stands for. */
export function lookoutFilters(view: JobsView): LookoutFilter[] {
  const filters: LookoutFilter[] = []
  for (const name of TEXT_FILTERS) {
    const value = view.text[name]?.trim()
    if (!value) continue
    // A job id names one job; the other text filters match what starts with the text typed.
    const match = name === "jobId" ? "exact" : "startsWith"
    filters.push({ field: name, value, match, isAnnotation: false })
  }
  if (view.states.length > 0) {
    filters.push({ field: "state", value: [...view.states], match: "anyOf", isAnnotation: false })
  }
  for (const [key, value] of Object.entries(view.annotations)) {
    if (value === "") filters.push({ field: key, value: "", match: "exists", isAnnotation: true })
    else filters.push({ field: key, value, match: "startsWith", isAnnotation: true })
  }
  if (view.submittedFrom) {
    filters.push({ field: "submitted", value: view.submittedFrom, match: "greaterThanOrEqualTo", isAnnotation: false })
  }
  if (view.submittedTo) {
    filters.push({ field: "submitted", value: view.submittedTo, match: "lessThanOrEqualTo", isAnnotation: false })
  }
  return filters
}

/** The filter that narrows a view to one of its groups. */
export function groupFilter(groupBy: GroupBy, name: string): LookoutFilter | undefined {
  if (groupBy.kind === "field") return { field: groupBy.field, value: name, match: "exact", isAnnotation: false }
  if (groupBy.kind === "annotation") {
    return { field: groupBy.key, value: name, match: "exact", isAnnotation: true }
  }
  return undefined
}

/** "team=ml, gpu" -> {team: "ml", gpu: ""}: how annotation filters are typed in one box. */
export function parseAnnotationFilter(text: string): Record<string, string> {
  const result: Record<string, string> = {}
  for (const part of text.split(",")) {
    const trimmed = part.trim()
    if (!trimmed) continue
    const eq = trimmed.indexOf("=")
    if (eq < 0) result[trimmed] = ""
    else if (eq > 0) result[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1).trim()
  }
  return result
}

export function formatAnnotationFilter(annotations: Record<string, string>): string {
  return Object.entries(annotations)
    .map(([key, value]) => (value === "" ? key : `${key}=${value}`))
    .join(", ")
}

/** The per-state counts of a group, from the "state" aggregate of /api/v1/jobGroups. */
export function stateCounts(aggregates: Record<string, unknown>): Record<string, number> {
  const raw = aggregates["state"]
  const counts: Record<string, number> = {}
  if (raw && typeof raw === "object") {
    for (const [state, count] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof count === "number" && count > 0) counts[state] = count
    }
  }
  return counts
}
