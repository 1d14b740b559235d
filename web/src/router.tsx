// A small client-side router over the History API: the app has three kinds of page, and the
// server answers index.html for every path that is not a file, so deep links work.

import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react"

export interface Location {
  path: string
  search: string
}

function current(): Location {
  return { path: window.location.pathname, search: window.location.search }
}

const listeners = new Set<() => void>()

export function navigate(to: string, { replace = false } = {}): void {
  if (replace) window.history.replaceState(null, "", to)
  else window.history.pushState(null, "", to)
  for (const listener of listeners) listener()
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current)
  useEffect(() => {
    const update = () => setLocation(current())
    listeners.add(update)
    window.addEventListener("popstate", update)
    return () => {
      listeners.delete(update)
      window.removeEventListener("popstate", update)
    }
  }, [])
  return location
}

/** A link that changes page without reloading (a modified click still opens a new tab). */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event)
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return
    event.preventDefault()
    navigate(href)
  }
  return <a href={href} onClick={follow} {...rest} />
}
