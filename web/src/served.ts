// A hook: whether the server serves an optional route (undefined until known).

import { useEffect, useState } from "react"

import { serves } from "./api"

export function useServed(route: readonly [string, string]): boolean | undefined {
  const [verb, path] = route
  const [served, setServed] = useState<boolean | undefined>(undefined)
  useEffect(() => {
    let current = true
    void serves(verb, path).then((answer) => {
      if (current) setServed(answer)
    })
    return () => {
      current = false
    }
  }, [verb, path])
  return served
}
