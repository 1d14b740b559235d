// Keeping keyboard focus inside a modal dialog: Tab and Shift+Tab cycle through the dialog's
// controls instead of leaving it for the page behind, focus that lands outside it is brought
// back, and when the dialog closes focus returns to the control that opened it.

/** The controls Tab stops at, in document order. */
export const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  '[tabindex]:not([tabindex="-1"])',
].join(", ")

/** Where Tab (Shift+Tab: ``backwards``) moves focus among ``items``: to the next one, wrapping
 * at either end; to the first (the last) when focus is on none of them; nowhere if there is none. */
export function nextFocus<T>(items: readonly T[], active: unknown, backwards: boolean): T | undefined {
  if (items.length === 0) return undefined
  const at = items.indexOf(active as T)
  if (at < 0) return backwards ? items[items.length - 1] : items[0]
  return items[(at + (backwards ? -1 : 1) + items.length) % items.length]
}

/** What the trap uses of the document (the DOM's own, or a stand-in in tests). */
export type TrapDocument = Pick<Document, "activeElement" | "addEventListener" | "removeEventListener" | "contains">

/**
 * Traps focus in ``container`` until the returned function is called, which releases it and
 * gives focus back to what had it when the trap was set (the opener), if it is still there.
 * Tab is handled on the whole document, so that a Tab pressed while focus is outside (after a
 * click on the backdrop, or once the focused control was removed) also lands inside.
 */
export function trapFocus(container: HTMLElement, doc: TrapDocument = document): () => void {
  const opener = doc.activeElement as HTMLElement | null
  const controls = () => Array.from(container.querySelectorAll<HTMLElement>(FOCUSABLE))
  const onKey = (event: KeyboardEvent) => {
    if (event.key !== "Tab") return
    event.preventDefault()
    nextFocus(controls(), doc.activeElement, event.shiftKey)?.focus()
  }
  const onFocusIn = (event: FocusEvent) => {
    if (container.contains(event.target as Node | null)) return
    nextFocus(controls(), null, false)?.focus()
  }
  doc.addEventListener("keydown", onKey)
  doc.addEventListener("focusin", onFocusIn)
  return () => {
    doc.removeEventListener("keydown", onKey)
    doc.removeEventListener("focusin", onFocusIn)
    if (opener && doc.contains(opener)) opener.focus()
  }
}
