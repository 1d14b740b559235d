// How values are written in the UI.

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return ""
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return date.toLocaleString(undefined, { hour12: false })
}

export function formatAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return ""
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  return formatDuration(seconds) + " ago"
}

export function formatDuration(totalSeconds: number): string {
  const seconds = Math.round(totalSeconds)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours}h ${minutes % 60}m`
  return `${Math.floor(hours / 24)}d ${hours % 24}h`
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`
}

/** Lookout reports CPU in millicores. */
export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : (millis / 1000).toFixed(2)
}

export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "–"
  return `${(fraction * 100).toFixed(1)}%`
}

export function stateLabel(state: string): string {
  const words = state.replace(/^RUN_/, "").toLowerCase().replace(/_/g, " ")
  return words.charAt(0).toUpperCase() + words.slice(1)
}
