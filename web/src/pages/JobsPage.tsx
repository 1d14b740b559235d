// The jobs page: filters (kept in the URL), a flat or grouped table refreshed live, and the
// actions on the selected jobs.

import { useCallback, useEffect, useMemo, useState } from "react"

import { ActionDialog, type Action } from "../components/ActionDialog"
import { ACTIVE_STATES, type Job } from "../model"
import { navigate } from "../router"
import { lookoutFilters, searchFromView, viewFromSearch, type JobsView } from "../view"
import { JobGroups } from "./JobGroups"
import { JobsFilters } from "./JobsFilters"
import { JobsTable, type Selection } from "./JobsTable"

const REFRESH_MS = 2000

export function JobsPage({ search }: { search: string }) {
  const view = useMemo(() => viewFromSearch(search), [search])
  const filters = useMemo(() => lookoutFilters(view), [view])
  const [selection, setSelection] = useState<Selection>(new Map())
  const [live, setLive] = useState(true)
  const [action, setAction] = useState<Action | undefined>()
  const [refreshToken, setRefreshToken] = useState(0)

  useEffect(() => {
    document.title = "Jobs · Lookout"
  }, [])

  const setView = useCallback((next: JobsView) => navigate(`/jobs${searchFromView(next)}`, { replace: true }), [])

  const onSelect = useCallback((jobs: Job[], selected: boolean) => {
    setSelection((current) => {
      const next = new Map(current)
      for (const job of jobs) {
        if (selected) next.set(job.jobId, { jobId: job.jobId, queue: job.queue, jobSet: job.jobSet, state: job.state })
        else next.delete(job.jobId)
      }
      return next
    })
  }, [])

  const startAction = (kind: "cancel" | "preempt" | "reprioritize") => {
    const chosen = [...selection.values()]
    // Preempting applies to running jobs only; cancelling and reprioritising to unfinished ones.
    const applies = (state: string) =>
      kind === "preempt" ? state === "RUNNING" || state === "LEASED" || state === "PENDING" : ACTIVE_STATES.has(state)
    const jobs = chosen.filter((job) => applies(job.state))
    setAction({ kind, jobs, skipped: chosen.length - jobs.length })
  }

  const closeAction = useCallback((changed: boolean) => {
    setAction(undefined)
    if (changed) {
      setSelection(new Map())
      setRefreshToken((t) => t + 1)
    }
  }, [])

  const refreshMs = live && !action ? REFRESH_MS : null
  // What the flat table and the grouped one both take.
  const shared = { filters, order: view.order, columns: view.columns, refreshMs, selection, onSelect, refreshToken }
  return (
    <main className="page jobs-page">
      <div className="page-head">
        <h1>Jobs</h1>
        <label className="live">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> Live refresh
        </label>
        <button type="button" onClick={() => setRefreshToken((t) => t + 1)}>
          Refresh
        </button>
      </div>
      <JobsFilters view={view} onChange={setView} />
      <div className="action-bar" role="toolbar" aria-label="Actions on the selected jobs">
        <span>{selection.size === 0 ? "No job selected" : `${selection.size} selected`}</span>
        <button type="button" disabled={selection.size === 0} onClick={() => startAction("cancel")}>
          Cancel…
        </button>
        <button type="button" disabled={selection.size === 0} onClick={() => startAction("reprioritize")}>
          Reprioritise…
        </button>
        <button type="button" disabled={selection.size === 0} onClick={() => startAction("preempt")}>
          Preempt…
        </button>
        {selection.size > 0 && (
          <button type="button" className="link" onClick={() => setSelection(new Map())}>
            Clear selection
          </button>
        )}
      </div>
      {view.groupBy.kind === "none" ? (
        <JobsTable
          {...shared}
          label="Jobs"
          page={view.page}
          onOrder={(order) => setView({ ...view, order, page: 0 })}
          onPage={(page) => setView({ ...view, page })}
        />
      ) : (
        <JobGroups {...shared} groupBy={view.groupBy} onAction={setAction} />
      )}
      {action && <ActionDialog action={action} onClose={closeAction} />}
    </main>
  )
}
