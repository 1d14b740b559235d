import { stateLabel } from "../format"

export function StateChip({ state, count }: { state: string; count?: number }) {
  return (
    <span
      className={`chip state-${state.toLowerCase()}`}
      title={count === undefined ? undefined : `${count} ${stateLabel(state).toLowerCase()}`}
    >
      {stateLabel(state)}
      {count !== undefined && <b> {count}</b>}
    </span>
  )
}
