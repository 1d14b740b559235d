import { describe, expect, it } from "vitest"

import { nextFocus, trapFocus, type TrapDocument } from "./focusTrap"

// A document with just what the trap uses: which element has focus, listeners, and which
// elements are attached. Focusing an element fires focusin, as in a browser.
type Listener = (event: unknown) => void

class FakeDocument {
  activeElement: FakeControl | null = null
  attached = new Set<FakeControl>()
  listeners = new Map<string, Set<Listener>>()

  addEventListener(type: string, listener: Listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set())
    this.listeners.get(type)!.add(listener)
  }

  removeEventListener(type: string, listener: Listener) {
    this.listeners.get(type)?.delete(listener)
  }

  contains(node: unknown) {
    return this.attached.has(node as FakeControl)
  }

  fire(type: string, event: object) {
    for (const listener of this.listeners.get(type) ?? []) listener(event)
  }

  /** A key press as the browser delivers it; true when the trap took it (default prevented). */
  press(key: string, shiftKey = false): boolean {
    let prevented = false
    this.fire("keydown", { key, shiftKey, preventDefault: () => (prevented = true) })
    return prevented
  }

  control(name: string): FakeControl {
    const control = new FakeControl(name, this)
    this.attached.add(control)
    return control
  }
}

class FakeControl {
  constructor(
    readonly name: string,
    private readonly doc: FakeDocument,
  ) {}

  focus() {
    this.doc.activeElement = this
    this.doc.fire("focusin", { target: this })
  }
}

function dialogOf(controls: FakeControl[]): HTMLElement {
  const container = {
    querySelectorAll: () => controls,
    contains: (node: unknown) => controls.includes(node as FakeControl),
  }
  return container as unknown as HTMLElement
}

/** A page with a button that opens a dialog of three controls, the button focused. */
function page() {
  const doc = new FakeDocument()
  const opener = doc.control("Cancel…")
  const outside = doc.control("Refresh")
  const controls = [doc.control("Reason"), doc.control("Back"), doc.control("Cancel")]
  opener.focus()
  const release = trapFocus(dialogOf(controls), doc as unknown as TrapDocument)
  controls[0].focus()
  return { doc, opener, outside, controls, release }
}

describe("the next control Tab moves to", () => {
  it("is the next one, wrapping at the end, and the previous one with Shift", () => {
    expect(nextFocus(["a", "b", "c"], "a", false)).toBe("b")
    expect(nextFocus(["a", "b", "c"], "c", false)).toBe("a")
    expect(nextFocus(["a", "b", "c"], "a", true)).toBe("c")
    expect(nextFocus(["a", "b", "c"], "b", true)).toBe("a")
  })

  it("is the first (or with Shift the last) when focus is on none of them, and none when empty", () => {
    expect(nextFocus(["a", "b"], "elsewhere", false)).toBe("a")
    expect(nextFocus(["a", "b"], null, true)).toBe("b")
    expect(nextFocus([], "a", false)).toBeUndefined()
  })
})

describe("a dialog's focus trap", () => {
  it("keeps Tab and Shift+Tab inside the dialog, going round", () => {
    const { doc, controls } = page()
    const seen: string[] = []
    for (let i = 0; i < 4; i++) {
      expect(doc.press("Tab")).toBe(true)
      seen.push(doc.activeElement!.name)
    }
    expect(seen).toEqual(["Back", "Cancel", "Reason", "Back"])
    controls[0].focus()
    expect(doc.press("Tab", true)).toBe(true)
    expect(doc.activeElement).toBe(controls[2])
  })

  it("leaves other keys alone", () => {
    const { doc, controls } = page()
    expect(doc.press("a")).toBe(false)
    expect(doc.activeElement).toBe(controls[0])
  })

  it("brings focus that lands outside back into the dialog", () => {
    const { doc, outside, controls } = page()
    outside.focus()
    expect(doc.activeElement).toBe(controls[0])
  })

  it("gives focus back to the opener when released, and then lets Tab go", () => {
    const { doc, opener, outside, release } = page()
    release()
    expect(doc.activeElement).toBe(opener)
    expect(doc.press("Tab")).toBe(false)
    outside.focus()
    expect(doc.activeElement).toBe(outside)
  })

  it("does not focus an opener that has left the page", () => {
    const { doc, opener, controls, release } = page()
    doc.attached.delete(opener)
    release()
    expect(doc.activeElement).toBe(controls[0])
  })
})
