// Confirming an action before it is sent: says how many jobs it will touch, takes a reason or
// a new priority, then reports what the server did. Escape closes it; focus starts inside it,
// stays inside it (Tab cycles through its controls) and goes back to the opener when it closes.

import { useEffect, useRef, useState, type FormEvent } from "react"

import { cancelJobSet, cancelJobs, preemptJobs, reprioritizeJobs, type ActionOutcome, type JobRef } from "../api"
import { trapFocus } from "../focusTrap"

export type Action =
  | { kind: "cancel" | "preempt" | "reprioritize"; jobs: JobRef[]; skipped: number; jobSet?: string }
  | { kind: "cancelJobSet"; queue: string; jobSet: string; active: number }

const VERBS = { cancel: "Cancel", preempt: "Preempt", reprioritize: "Reprioritise", cancelJobSet: "Cancel" }

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`
}

export function describe(action: Action): string {
  if (action.kind === "cancelJobSet") {
    return `Cancel job set ${action.jobSet} of queue ${action.queue}: ${plural(action.active, "active job")} will be cancelled.`
  }
  const whose = action.jobSet === undefined ? "" : ` of job set ${action.jobSet}`
  const touched = `${VERBS[action.kind]} ${plural(action.jobs.length, action.kind === "preempt" ? "running job" : "job")}${whose}`
  const skipped =
    action.skipped > 0 ? ` (${action.skipped} of the selection already finished and will be left alone)` : ""
  return `${touched}${skipped}?`
}

export function ActionDialog({ action, onClose }: { action: Action; onClose: (changed: boolean) => void }) {
  const [reason, setReason] = useState("")
  const [priority, setPriority] = useState("1")
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<ActionOutcome | undefined>()
  const [error, setError] = useState<string | undefined>()
  const form = useRef<HTMLFormElement>(null)
  const first = useRef<HTMLInputElement>(null)
  const close = useRef<HTMLButtonElement>(null)
  const nothingToDo = action.kind === "cancelJobSet" ? false : action.jobs.length === 0
  // Whether closing clears the selection and refreshes the page: yes once the request is sent
  // (it may land even if the dialog closes before the answer), unless it failed outright. A
  // ref, set before the request goes: Escape's listener is re-subscribed only after the render
  // that shows the answer, so a state read there could still say "not sent" to an Escape
  // pressed as the answer appears.
  const sent = useRef(false)

  // Set once, when the dialog opens: the trap remembers the opener before focus moves in.
  useEffect(() => {
    const release = trapFocus(form.current!)
    ;(first.current ?? close.current)?.focus()
    return release
  }, [])

  // Once done, the reason box is gone: focus goes to Close rather than to the page behind.
  useEffect(() => {
    if (outcome) close.current?.focus()
  }, [outcome])

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") onClose(sent.current)
    }
    window.addEventListener("keydown", onKey)
    return () => window.removeEventListener("keydown", onKey)
  }, [onClose])

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (outcome) {
      onClose(true)
      return
    }
    const newPriority = Number(priority)
    if (action.kind === "reprioritize" && (!Number.isInteger(newPriority) || newPriority < 0)) {
      setError("The priority is a whole number, 0 or more.")
      return
    }
    sent.current = true
    setBusy(true)
    setError(undefined)
    try {
      if (action.kind === "cancelJobSet") {
        await cancelJobSet(action.queue, action.jobSet, reason)
        setOutcome({ done: action.active, failures: [] })
      } else if (action.kind === "cancel") {
        setOutcome(await cancelJobs(action.jobs, reason))
      } else if (action.kind === "preempt") {
        setOutcome(await preemptJobs(action.jobs, reason))
      } else {
        setOutcome(await reprioritizeJobs(action.jobs, newPriority))
      }
    } catch (reasonThrown) {
      sent.current = false
      setError((reasonThrown as Error).message)
    } finally {
      setBusy(false)
    }
  }

  const title = action.kind === "cancelJobSet" ? "Cancel job set" : `${VERBS[action.kind]} jobs`
  return (
    <div className="backdrop" role="presentation">
      <form
        ref={form}
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="dialog-title"
        onSubmit={submit}
      >
        <h2 id="dialog-title">{title}</h2>
        <p className="confirm-text">
          {nothingToDo ? "None of the selected jobs can be changed: they have finished." : describe(action)}
        </p>
        {!outcome && !nothingToDo && action.kind === "reprioritize" && (
          <label>
            New priority
            <input ref={first} type="number" min={0} value={priority} onChange={(e) => setPriority(e.target.value)} />
          </label>
        )}
        {!outcome && !nothingToDo && action.kind !== "reprioritize" && (
          <label>
            Reason (optional)
            <input ref={first} value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {outcome && (
          <div role="status" className="outcome">
            <p>Done: {plural(outcome.done, "job")}.</p>
            {outcome.failures.map((failure) => (
              <p className="error" key={failure}>
                {failure}
              </p>
            ))}
          </div>
        )}
        <div className="dialog-buttons">
          <button ref={close} type="button" onClick={() => onClose(sent.current)}>
            {outcome ? "Close" : "Back"}
          </button>
          {!outcome && !nothingToDo && (
            <button type="submit" className="danger" disabled={busy}>
              {busy ? "Working…" : `${VERBS[action.kind]}${action.kind === "cancelJobSet" ? " job set" : ""}`}
            </button>
          )}
        </div>
      </form>
    </div>
  )
}
