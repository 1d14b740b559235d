// Loading data and keeping it fresh: the last good answer stays on screen while the next is
// fetched, so a refresh never blanks the page, moves its scroll position or drops a selection.
// A refresh still waiting for its answer when the next is due is left to finish, never aborted
// for a new one: on a server slower than the interval, aborting would mean no answer ever lands.

import { useCallback, useEffect, useRef, useState } from "react"

export interface Polled<T> {
  data: T | undefined
  error: string | undefined
  loading: boolean
  refresh: () => void
}

export function usePolled<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: string,
  intervalMs: number | null,
): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load
  const keyRef = useRef(key)
  const waiting = useRef(false)

  useEffect(() => {
    if (keyRef.current !== key) {
      keyRef.current = key
      setData(undefined)
    }
    const controller = new AbortController()
    waiting.current = true
    setLoading(true)
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (controller.signal.aborted) return
        setData(value)
        setError(undefined)
      })
      .catch((reason: unknown) => {
        if (controller.signal.aborted) return
        setError(reason instanceof Error ? reason.message : String(reason))
      })
      .finally(() => {
        if (controller.signal.aborted) return
        waiting.current = false
        setLoading(false)
      })
    return () => controller.abort()
  }, [key, tick])

  useEffect(() => {
    if (intervalMs === null) return
    const timer = window.setInterval(() => {
      if (document.visibilityState !== "hidden" && !waiting.current) setTick((t) => t + 1)
    }, intervalMs)
    return () => window.clearInterval(timer)
  }, [intervalMs, key])

  const refresh = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, refresh }
}
