// The jobs table grouped by queue, job set, state or an annotation: one row per group with its
// count and its count per state; a group opens to show its jobs.

import { Fragment, useState } from "react"

import { groupJobs } from "../api"
import { StateChip } from "../components/StateChip"
import type { Job, LookoutFilter, LookoutOrder } from "../model"
import { ACTIVE_STATES } from "../model"
import { usePolled } from "../polling"
import { groupFilter, stateCounts, type GroupBy } from "../view"
import type { Action } from "../components/ActionDialog"
import { JobsTable, type Selection } from "./JobsTable"

interface Props {
  filters: LookoutFilter[]
  groupBy: Exclude<GroupBy, { kind: "none" }>
  order: LookoutOrder
  columns: string[]
  refreshMs: number | null
  selection: Selection
  onSelect: (jobs: Job[], selected: boolean) => void
  onAction: (action: Action) => void
  refreshToken: number
}

const GROUP_PAGE = 200

export function JobGroups({
  filters,
  groupBy,
  order,
  columns,
  refreshMs,
  selection,
  onSelect,
  onAction,
  refreshToken,
}: Props) {
  const [open, setOpen] = useState<Set<string>>(new Set())
  const groupedField =
    groupBy.kind === "field"
      ? { field: groupBy.field, isAnnotation: false }
      : { field: groupBy.key, isAnnotation: true }
  const groupOrder: LookoutOrder = { field: "count", direction: "DESC" }
  const key = JSON.stringify([filters, groupedField, refreshToken])
  const polled = usePolled(
    (signal) => groupJobs(filters, groupedField, groupOrder, 0, GROUP_PAGE, signal),
    key,
    refreshMs,
  )
  const groups = polled.data?.groups ?? []
  const toggle = (name: string) =>
    setOpen((current) => {
      const next = new Set(current)
      if (next.has(name)) next.delete(name)
      else next.add(name)
      return next
    })
  const label =
    groupBy.kind === "field"
      ? { queue: "Queue", jobSet: "Job set", state: "State" }[groupBy.field]
      : `Annotation ${groupBy.key}`

  return (
    <div className="table-block">
      {polled.error && (
        <p className="error" role="alert">
          Could not load groups: {polled.error}
        </p>
      )}
      <table className="groups" aria-label={`Jobs grouped by ${label.toLowerCase()}`}>
        <thead>
          <tr>
            <th>{label}</th>
            <th className="num">Jobs</th>
            <th>By state</th>
            {groupBy.kind === "field" && groupBy.field === "jobSet" && <th>Actions</th>}
          </tr>
        </thead>
        <tbody>
          {groups.map((group) => {
            const counts = stateCounts(group.aggregates)
            const isOpen = open.has(group.name)
            const filter = groupFilter(groupBy, group.name)
            return (
              <Fragment key={group.name}>
                <tr className="group-row" data-group={group.name}>
                  <td>
                    <button
                      type="button"
                      className="expander"
                      aria-expanded={isOpen}
                      onClick={() => toggle(group.name)}
                    >
                      <span aria-hidden="true">{isOpen ? "▾" : "▸"}</span> {group.name || "(none)"}
                    </button>
                  </td>
                  <td className="num">{group.count}</td>
                  <td className="chips">
                    {Object.entries(counts).map(([state, count]) => (
                      <StateChip key={state} state={state} count={count} />
                    ))}
                  </td>
                  {groupBy.kind === "field" && groupBy.field === "jobSet" && (
                    <td>
                      <JobSetCancelButton name={group.name} filters={filters} counts={counts} onAction={onAction} />
                    </td>
                  )}
                </tr>
                {isOpen && filter && (
                  <tr className="group-jobs">
                    <td colSpan={4}>
                      <JobsTable
                        label={`Jobs of ${group.name}`}
                        filters={[...filters, filter]}
                        order={order}
                        columns={columns}
                        page={0}
                        refreshMs={refreshMs}
                        selection={selection}
                        onSelect={onSelect}
                        refreshToken={refreshToken}
                      />
                    </td>
                  </tr>
                )}
              </Fragment>
            )
          })}
          {polled.data && groups.length === 0 && (
            <tr>
              <td colSpan={4} className="empty">
                No jobs match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  )
}

/** A job set's queue is known when the filters name one queue exactly or the group's jobs share one. */
function JobSetCancelButton({
  name,
  filters,
  counts,
  onAction,
}: {
  name: string
  filters: LookoutFilter[]
  counts: Record<string, number>
  onAction: (action: Action) => void
}) {
  const active = Object.entries(counts).reduce((sum, [state, count]) => sum + (ACTIVE_STATES.has(state) ? count : 0), 0)
  const queueFilter = filters.find((f) => f.field === "queue" && !f.isAnnotation)
  const queue = typeof queueFilter?.value === "string" ? queueFilter.value : undefined
  if (active === 0) return null
  if (!queue) return <span className="hint">filter by queue to cancel</span>
  return (
    <button
      type="button"
      className="danger"
      onClick={() => onAction({ kind: "cancelJobSet", queue, jobSet: name, active })}
    >
      Cancel job set
    </button>
  )
}
