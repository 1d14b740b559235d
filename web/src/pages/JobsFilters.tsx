// The filter bar of the jobs table: text filters applied as one types (after a pause), state
// toggles, a submitted-time range, grouping and the columns shown.

import { useEffect, useState } from "react"

import {
  formatAnnotationFilter,
  groupByParam,
  parseAnnotationFilter,
  type GroupBy,
  type JobsView,
  type TextFilter,
} from "../view"
import { ALL_COLUMNS } from "../view"
import { JOB_STATES } from "../model"
import { column } from "../columns"
import { stateLabel } from "../format"

const TEXT_LABELS: [TextFilter, string][] = [
  ["queue", "Queue"],
  ["jobSet", "Job set"],
  ["jobId", "Job ID"],
  ["owner", "Owner"],
  ["priorityClass", "Priority class"],
]

/** A text box that reports its value a moment after the typing stops, or at once on Enter. */
function DebouncedInput({
  value,
  onCommit,
  ...rest
}: { value: string; onCommit: (value: string) => void } & Omit<
  React.InputHTMLAttributes<HTMLInputElement>,
  "value" | "onChange"
>) {
  const [draft, setDraft] = useState(value)
  useEffect(() => setDraft(value), [value])
  useEffect(() => {
    if (draft === value) return
    const timer = window.setTimeout(() => onCommit(draft), 400)
    return () => window.clearTimeout(timer)
  }, [draft, value, onCommit])
  return (
    <input
      {...rest}
      value={draft}
      onChange={(e) => setDraft(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === "Enter") onCommit(draft)
      }}
    />
  )
}

function toLocalInput(iso: string | undefined): string {
  if (!iso) return ""
  const date = new Date(iso)
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000)
  return local.toISOString().slice(0, 16)
}

function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

/** A date and time typed in the browser's time zone, held as ISO 8601 (UTC). */
function TimeInput({
  label,
  name,
  value,
  onChange,
}: {
  label: string
  name: string
  value: string | undefined
  onChange: (iso: string | undefined) => void
}) {
  return (
    <label>
      {label}
      <input
        type="datetime-local"
        name={name}
        value={toLocalInput(value)}
        onChange={(e) => onChange(fromLocalInput(e.target.value))}
      />
    </label>
  )
}

export function JobsFilters({ view, onChange }: { view: JobsView; onChange: (view: JobsView) => void }) {
  const [showColumns, setShowColumns] = useState(false)
  const change = (patch: Partial<JobsView>) => onChange({ ...view, ...patch, page: 0 })

  const toggleState = (state: string) => {
    const states = view.states.includes(state) ? view.states.filter((s) => s !== state) : [...view.states, state]
    change({ states })
  }

  // Grouping by an annotation asks for its key in a field beside the choice.
  const [askingKey, setAskingKey] = useState(false)
  const setGroupBy = (value: string) => {
    let groupBy: GroupBy = { kind: "none" }
    if (value === "queue" || value === "jobSet" || value === "state") groupBy = { kind: "field", field: value }
    setAskingKey(value === "annotation")
    if (value !== "annotation") change({ groupBy })
  }
  const groupByAnnotation = (key: string) => {
    if (!key.trim()) return
    setAskingKey(false)
    change({ groupBy: { kind: "annotation", key: key.trim() } })
  }

  const toggleColumn = (id: string) => {
    const columns = view.columns.includes(id) ? view.columns.filter((c) => c !== id) : [...view.columns, id]
    if (columns.length > 0) onChange({ ...view, columns })
  }

  const groupValue = askingKey || view.groupBy.kind === "annotation" ? "annotation" : (groupByParam(view.groupBy) ?? "")
  const annotationColumns = Object.keys(view.annotations).map((key) => `ann.${key}`)
  const columnChoices = [
    ...ALL_COLUMNS,
    ...annotationColumns.filter((c) => !(ALL_COLUMNS as readonly string[]).includes(c)),
  ]

  return (
    <section className="filters" aria-label="Filters">
      <div className="filter-row">
        {TEXT_LABELS.map(([name, label]) => (
          <label key={name}>
            {label}
            <DebouncedInput
              name={name}
              value={view.text[name] ?? ""}
              onCommit={(value) => change({ text: { ...view.text, [name]: value } })}
              placeholder={name === "jobId" ? "exact id" : "starts with"}
            />
          </label>
        ))}
        <label>
          Annotations
          <DebouncedInput
            name="annotations"
            value={formatAnnotationFilter(view.annotations)}
            onCommit={(value) => change({ annotations: parseAnnotationFilter(value) })}
            placeholder="key=value, key"
          />
        </label>
        <TimeInput
          label="Submitted from"
          name="submittedFrom"
          value={view.submittedFrom}
          onChange={(submittedFrom) => change({ submittedFrom })}
        />
        <TimeInput
          label="to"
          name="submittedTo"
          value={view.submittedTo}
          onChange={(submittedTo) => change({ submittedTo })}
        />
      </div>
      <div className="filter-row">
        <fieldset className="states">
          <legend>State</legend>
          {JOB_STATES.map((state) => (
            <label key={state} className={`toggle state-${state.toLowerCase()}`}>
              <input type="checkbox" checked={view.states.includes(state)} onChange={() => toggleState(state)} />
              {stateLabel(state)}
            </label>
          ))}
        </fieldset>
        <label>
          Group by
          <select name="groupBy" value={groupValue} onChange={(e) => setGroupBy(e.target.value)}>
            <option value="">nothing</option>
            <option value="queue">queue</option>
            <option value="jobSet">job set</option>
            <option value="state">state</option>
            <option value="annotation">annotation</option>
          </select>
        </label>
        {(askingKey || view.groupBy.kind === "annotation") && (
          <label>
            Annotation key
            <DebouncedInput
              name="groupByKey"
              value={view.groupBy.kind === "annotation" ? view.groupBy.key : ""}
              onCommit={groupByAnnotation}
              autoFocus={askingKey}
              placeholder="e.g. team"
            />
          </label>
        )}
        <div className="columns-chooser">
          <button type="button" aria-expanded={showColumns} onClick={() => setShowColumns((v) => !v)}>
            Columns
          </button>
          {showColumns && (
            <div className="popover" role="group" aria-label="Columns shown">
              {columnChoices.map((id) => (
                <label key={id}>
                  <input type="checkbox" checked={view.columns.includes(id)} onChange={() => toggleColumn(id)} />
                  {column(id).label}
                </label>
              ))}
              <AnnotationColumnAdder onAdd={(key) => toggleColumn(`ann.${key}`)} />
            </div>
          )}
        </div>
        <button
          type="button"
          onClick={() =>
            onChange({
              ...view,
              text: {},
              states: [],
              annotations: {},
              submittedFrom: undefined,
              submittedTo: undefined,
              page: 0,
            })
          }
        >
          Clear filters
        </button>
      </div>
    </section>
  )
}

function AnnotationColumnAdder({ onAdd }: { onAdd: (key: string) => void }) {
  const [key, setKey] = useState("")
  return (
    <span className="adder">
      <input
        aria-label="Annotation key to show"
        placeholder="annotation key"
        value={key}
        onChange={(e) => setKey(e.target.value)}
      />
      <button
        type="button"
        onClick={() => {
          if (key.trim()) onAdd(key.trim())
          setKey("")
        }}
      >
        Add
      </button>
    </span>
  )
}
