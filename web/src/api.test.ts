import { describe, expect, it } from "vitest"

import { byJobSet, latestRounds, parseEventStream, parseQueueStream, routeKey, routesOf } from "./api"

describe("the optional routes a server serves", () => {
  it("are read from its OpenAPI document, whatever its path parameters are called", () => {
    const routes = routesOf({
      paths: { "/v1/job/{job_id}/scheduler-report": { get: {} }, "/v1/binoculars/log": { post: {} } },
    })
    expect(routes.has(routeKey("GET", "/v1/job/{jobId}/scheduler-report"))).toBe(true)
    expect(routes.has(routeKey("post", "/v1/binoculars/log"))).toBe(true)
    expect(routes.has(routeKey("GET", "/v1/binoculars/log"))).toBe(false)
  })
})

describe("the gateway's streams", () => {
  it("keep one job's events from its job set's stream, in order", () => {
    const text = [
      JSON.stringify({ result: { id: "1", message: { submitted: { jobId: "a", created: "2026-12-03T10:00:00Z" } } } }),
      JSON.stringify({ result: { id: "2", message: { submitted: { jobId: "b" } } } }),
      "",
      JSON.stringify({ result: { id: "3", message: { running: { jobId: "a", nodeName: "n1" } } } }),
    ].join("\n")
    const events = parseEventStream(text, "a")
    expect(events.map((e) => [e.id, e.kind, e.created])).toEqual([
      ["1", "submitted", "2026-12-03T10:00:00Z"],
      ["3", "running", undefined],
    ])
    expect(events[1].detail.nodeName).toBe("n1")
  })

  it("raise the error a stream ends with", () => {
    expect(() => parseEventStream(JSON.stringify({ error: "queue x does not exist" }), "a")).toThrow(
      "queue x does not exist",
    )
  })

  it("read the queues of /v1/batched/queues", () => {
    const text = [
      JSON.stringify({ result: { Event: { queue: { name: "q1", priorityFactor: 2 } } } }),
      JSON.stringify({ result: { Event: { end: {} } } }),
    ].join("\n")
    expect(parseQueueStream(text)).toEqual([{ name: "q1", priorityFactor: 2 }])
    expect(parseQueueStream(JSON.stringify({ result: { queue: { name: "q2" } } }))).toEqual([{ name: "q2" }])
  })
})

describe("actions", () => {
  it("are sent one job set at a time", () => {
    const calls = byJobSet([
      { jobId: "1", queue: "q", jobSet: "s" },
      { jobId: "2", queue: "q", jobSet: "t" },
      { jobId: "3", queue: "q", jobSet: "s" },
    ])
    expect(calls).toEqual([
      { queue: "q", jobSetId: "s", jobIds: ["1", "3"] },
      { queue: "q", jobSetId: "t", jobIds: ["2"] },
    ])
  })
})

describe("fair-share rounds", () => {
  it("keep the newest round of each pool", () => {
    const round = (pool: string, cycle: number) => ({ pool, cycle, started: "", queues: [] })
    expect(
      latestRounds([round("b", 1), round("a", 2), round("a", 3), round("b", 0)]).map((r) => [r.pool, r.cycle]),
    ).toEqual([
      ["a", 3],
      ["b", 1],
    ])
  })
})
