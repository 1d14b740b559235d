import { formatDuration } from "../format"

// A line chart of one number per series over time, drawn as SVG (no chart library).

export interface Sample {
  time: number // ms since the epoch
  values: Record<string, number>
}

const WIDTH = 720
const HEIGHT = 200
const PAD = { left: 48, right: 120, top: 10, bottom: 24 }
const COLOURS = ["#2f6fdf", "#d9480f", "#2b8a3e", "#ae3ec9", "#f59f00", "#0c8599", "#e03131", "#5c7cfa"]

export function ShareChart({ samples, label }: { samples: Sample[]; label: string }) {
  if (samples.length < 2) return <p className="hint">The chart fills in as the page refreshes.</p>
  const series = [...new Set(samples.flatMap((s) => Object.keys(s.values)))].sort().slice(0, COLOURS.length)
  const t0 = samples[0].time
  const t1 = samples[samples.length - 1].time
  const top = Math.max(1, ...samples.flatMap((s) => Object.values(s.values)))
  const x = (t: number) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (WIDTH - PAD.left - PAD.right)
  const y = (v: number) => HEIGHT - PAD.bottom - (v / top) * (HEIGHT - PAD.top - PAD.bottom)
  const span = formatDuration((t1 - t0) / 1000)
  return (
    <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${label} over the last ${span}`}>
      <line x1={PAD.left} y1={y(0)} x2={WIDTH - PAD.right} y2={y(0)} className="axis" />
      <line x1={PAD.left} y1={y(0)} x2={PAD.left} y2={y(top)} className="axis" />
      <text x={PAD.left - 6} y={y(top) + 4} textAnchor="end">
        {top}
      </text>
      <text x={PAD.left - 6} y={y(0) + 4} textAnchor="end">
        0
      </text>
      <text x={PAD.left} y={HEIGHT - 6}>
        {span} ago
      </text>
      <text x={WIDTH - PAD.right} y={HEIGHT - 6} textAnchor="end">
        now
      </text>
      {series.map((name, i) => {
        const points = samples.map((s) => `${x(s.time).toFixed(1)},${y(s.values[name] ?? 0).toFixed(1)}`).join(" ")
        const last = samples[samples.length - 1].values[name] ?? 0
        return (
          <g key={name}>
            <polyline points={points} fill="none" stroke={COLOURS[i]} strokeWidth={2} />
            <text x={WIDTH - PAD.right + 6} y={y(last) + 4} fill={COLOURS[i]}>
              {name} ({last})
            </text>
          </g>
        )
      })}
    </svg>
  )
}
