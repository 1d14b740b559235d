// One page of jobs matching some filters: sortable headers, a checkbox per row (the selection
// survives refreshes and page changes), and paging.

import { useEffect, useLayoutEffect, useRef, type FocusEvent } from "react"

import { getJobs, type JobRef } from "../api"
import { column } from "../columns"
import type { Job, LookoutFilter, LookoutOrder } from "../model"
import { usePolled } from "../polling"
import { PAGE_SIZE, SORTABLE_FIELDS } from "../view"

export type Selection = Map<string, JobRef & { state: string }>

interface Props {
  filters: LookoutFilter[]
  order: LookoutOrder
  columns: string[]
  page: number
  refreshMs: number | null
  selection: Selection
  onSelect: (jobs: Job[], selected: boolean) => void
  onOrder?: (order: LookoutOrder) => void
  onPage?: (page: number) => void
  refreshToken: number
  label: string
}

export function JobsTable({
  filters,
  order,
  columns,
  page,
  refreshMs,
  selection,
  onSelect,
  onOrder,
  onPage,
  refreshToken,
  label,
}: Props) {
  const key = JSON.stringify([filters, order, page, refreshToken])
  // One more than a page is asked for, to know whether there is a next page.
  const polled = usePolled((signal) => getJobs(filters, order, page * PAGE_SIZE, PAGE_SIZE + 1, signal), key, refreshMs)
  const all = polled.data?.jobs ?? []
  const jobs = all.slice(0, PAGE_SIZE)
  const hasNext = all.length > PAGE_SIZE
  const shown = columns.map(column)
  const allSelected = jobs.length > 0 && jobs.every((job) => selection.has(job.jobId))
  const keptFocus = useKeptFocus(polled.data)

  const sortBy = (field: string) => {
    if (!onOrder) return
    const direction = order.field === field && order.direction === "DESC" ? "ASC" : "DESC"
    onOrder({ field, direction })
  }

  return (
    <div className="table-block">
      {polled.error && (
        <p className="error" role="alert">
          Could not load jobs: {polled.error}
        </p>
      )}
      <table className="jobs" aria-label={label} aria-busy={polled.loading && !polled.data}>
        <thead>
          <tr>
            <th className="select">
              <input
                type="checkbox"
                aria-label="Select every job on this page"
                checked={allSelected}
                onChange={(e) => onSelect(jobs, e.target.checked)}
              />
            </th>
            {shown.map((col) => {
              const sorted = order.field === col.id
              const sortable = onOrder && SORTABLE_FIELDS.has(col.id)
              return (
                <th
                  key={col.id}
                  className={col.numeric ? "num" : undefined}
                  aria-sort={sorted ? (order.direction === "ASC" ? "ascending" : "descending") : undefined}
                >
                  {sortable ? (
                    <button type="button" className="sort" onClick={() => sortBy(col.id)}>
                      {col.label}
                      <span aria-hidden="true">{sorted ? (order.direction === "ASC" ? " ▲" : " ▼") : ""}</span>
                    </button>
                  ) : (
                    col.label
                  )}
                </th>
              )
            })}
          </tr>
        </thead>
        <tbody ref={keptFocus.body} onFocus={keptFocus.onFocus} onBlur={keptFocus.onBlur}>
          {jobs.map((job) => (
            <tr
              key={job.jobId}
              data-job-id={job.jobId}
              data-state={job.state}
              className={selection.has(job.jobId) ? "selected" : undefined}
            >
              <td className="select">
                <input
                  type="checkbox"
                  aria-label={`Select job ${job.jobId}`}
                  checked={selection.has(job.jobId)}
                  onChange={(e) => onSelect([job], e.target.checked)}
                />
              </td>
              {shown.map((col) => (
                <td key={col.id} className={col.numeric ? "num" : undefined}>
                  {col.cell(job)}
                </td>
              ))}
            </tr>
          ))}
          {polled.data && jobs.length === 0 && (
            <tr>
              <td colSpan={shown.length + 1} className="empty">
                No jobs match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {onPage && (page > 0 || hasNext) && (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
            ← Previous
          </button>
          <span>Page {page + 1}</span>
          <button type="button" disabled={!hasNext} onClick={() => onPage(page + 1)}>
            Next →
          </button>
        </nav>
      )}
    </div>
  )
}

/**
 * Where the keyboard was in the table's body, kept across refreshes: when a refresh removes the
 * row whose control had the focus (in a busy table every row may go), the focus would fall to
 * the page and a keyboard user would start again from its top. It goes instead to the same
 * cell of the row now in that place, without scrolling to it. Focus moved elsewhere, by the
 * keyboard or by a click anywhere outside the rows, forgets the place.
 */
function useKeptFocus(data: unknown) {
  const body = useRef<HTMLTableSectionElement>(null)
  const place = useRef<{ row: number; cell: number } | null>(null)

  const onFocus = (event: FocusEvent<HTMLTableSectionElement>) => {
    const cell = (event.target as HTMLElement).closest("td")
    const row = cell?.parentElement as HTMLTableRowElement | null
    place.current = cell && row ? { row: row.sectionRowIndex, cell: cell.cellIndex } : null
  }
  const onBlur = (event: FocusEvent<HTMLTableSectionElement>) => {
    if (event.relatedTarget !== null) place.current = null
  }
  useEffect(() => {
    const onPointer = (event: PointerEvent) => {
      if (!body.current?.contains(event.target as Node | null)) place.current = null
    }
    document.addEventListener("pointerdown", onPointer, true)
    return () => document.removeEventListener("pointerdown", onPointer, true)
  }, [])

  useLayoutEffect(() => {
    const at = place.current
    const active = document.activeElement
    if (!at || !body.current || (active !== null && active !== document.body)) return
    const rows = body.current.rows
    const row = rows[Math.min(at.row, rows.length - 1)]
    row?.cells[at.cell]?.querySelector<HTMLElement>("input, a, button")?.focus({ preventScroll: true })
  }, [data])

  return { body, onFocus, onBlur }
}
