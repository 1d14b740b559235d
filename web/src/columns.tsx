// The columns the jobs table can show, and how each cell is written.

import type { ReactNode } from "react"

import { StateChip } from "./components/StateChip"
import { formatAgo, formatBytes, formatCpu, formatDuration, formatTime } from "./format"
import type { Job } from "./model"
import { Link } from "./router"

export interface Column {
  id: string
  label: string
  cell: (job: Job) => ReactNode
  numeric?: boolean
}

const COLUMNS: Record<string, Column> = {
  jobId: {
    id: "jobId",
    label: "Job ID",
    cell: (job) => (
      <Link className="mono" href={`/jobs/${encodeURIComponent(job.jobId)}`}>
        {job.jobId}
      </Link>
    ),
  },
  queue: { id: "queue", label: "Queue", cell: (job) => job.queue },
  jobSet: { id: "jobSet", label: "Job set", cell: (job) => job.jobSet },
  state: { id: "state", label: "State", cell: (job) => <StateChip state={job.state} /> },
  priority: { id: "priority", label: "Priority", cell: (job) => job.priority, numeric: true },
  owner: { id: "owner", label: "Owner", cell: (job) => job.owner },
  namespace: { id: "namespace", label: "Namespace", cell: (job) => job.namespace ?? "" },
  priorityClass: { id: "priorityClass", label: "Priority class", cell: (job) => job.priorityClass ?? "" },
  cpu: { id: "cpu", label: "CPUs", cell: (job) => formatCpu(job.cpu), numeric: true },
  memory: { id: "memory", label: "Memory", cell: (job) => formatBytes(job.memory), numeric: true },
  gpu: { id: "gpu", label: "GPUs", cell: (job) => job.gpu, numeric: true },
  submitted: {
    id: "submitted",
    label: "Submitted",
    cell: (job) => <span title={formatAgo(job.submitted)}>{formatTime(job.submitted)}</span>,
  },
  lastTransitionTime: {
    id: "lastTransitionTime",
    label: "Last change",
    cell: (job) => <span title={formatTime(job.lastTransitionTime)}>{formatAgo(job.lastTransitionTime)}</span>,
  },
  cluster: { id: "cluster", label: "Cluster", cell: (job) => job.cluster },
  node: { id: "node", label: "Node", cell: (job) => job.node ?? "" },
  pool: { id: "pool", label: "Pool", cell: (job) => job.pool ?? "" },
  exitCode: { id: "exitCode", label: "Exit code", cell: (job) => job.exitCode ?? "", numeric: true },
  runtimeSeconds: {
    id: "runtimeSeconds",
    label: "Runtime",
    cell: (job) => (job.runtimeSeconds ? formatDuration(job.runtimeSeconds) : ""),
    numeric: true,
  },
}

/** A known column, or one showing the annotation ``ann.<key>``. */
export function column(id: string): Column {
  const known = COLUMNS[id]
  if (known) return known
  const key = id.startsWith("ann.") ? id.slice(4) : id
  return { id, label: key, cell: (job) => job.annotations?.[key] ?? "" }
}
